package statesync

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestQueueWindowBoundsMemory: only chunks within the window above the
// lowest unapplied one are handed out, so at most window chunks are held;
// applying the lowest lets the next one be fetched.
func TestQueueWindowBoundsMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(100, 4, []string{"a", "b"})
		for want := range uint32(4) {
			i, _, err := q.allocate(context.Background())
			if err != nil || i != want {
				t.Fatalf("allocation %d: chunk %d, %v", want, i, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if i, _, err := q.allocate(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a fifth chunk (%d) was handed out with a window of 4", i)
		}
		q.deliver(0, []byte("c0"), "a")
		c, done, err := q.next(context.Background())
		if err != nil || done || c.index != 0 || string(c.data) != "c0" {
			t.Fatalf("next: %+v %v %v", c, done, err)
		}
		q.markApplied(0)
		if i, _, err := q.allocate(context.Background()); err != nil || i != 4 {
			t.Fatalf("after chunk 0 was applied: chunk %d, %v; want 4", i, err)
		}
	})
}

// TestQueuePeers: a failed chunk goes to another peer; a chunk from a
// rejected peer is dropped; with no peer left, the queue says so.
func TestQueuePeers(t *testing.T) {
	q := newQueue(2, 2, []string{"a", "b"})
	i, p, _ := q.allocate(context.Background())
	if allFailed := q.fail(i, p); allFailed {
		t.Fatal("one failure of two peers reported as all")
	}
	j, p2, _ := q.allocate(context.Background())
	if j != i || p2 == p {
		t.Fatalf("chunk %d went to %s again after it failed there (now chunk %d to %s)", i, p, j, p2)
	}
	q.rejectPeer(p2)
	q.deliver(j, []byte("late"), p2)
	if _, ok := q.have[j]; ok {
		t.Fatal("a chunk from a rejected peer was kept")
	}
	q.rejectPeer(p)
	if _, _, err := q.allocate(context.Background()); !errors.Is(err, errNoPeers) {
		t.Fatalf("allocate with no peers: %v", err)
	}
	if _, _, err := q.next(context.Background()); !errors.Is(err, errNoPeers) {
		t.Fatalf("next with no peers: %v", err)
	}
}
