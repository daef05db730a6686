package statesync

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var testConfig = Config{DiscoveryTime: 5 * time.Second, ChunkRequestTimeout: 10 * time.Second, ChunkFetchers: 3, MaxChunks: 1000}

func testState(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// TestCorruptChunkRefetchedFromAnotherPeer: peer "bad" serves the same
// snapshot as two honest peers but corrupts every chunk. The application
// refuses each corrupt chunk (RETRY, refetch_chunks, reject_senders): the
// chunk is fetched again from an honest peer, "bad" is reported and
// never asked again, and the restore completes.
func TestCorruptChunkRefetchedFromAnotherPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		state := testState(1, 4000)
		snap, chunks := makeSnapshot(100, 1, state, 20)
		net := newFakeNet()
		net.serve("bad", snap, chunks).corrupt = true
		net.serve("good1", snap, chunks)
		net.serve("good2", snap, chunks)
		app := &fakeApp{}
		res, err := New(testConfig, app, net, fakeVerifier{100: appHashOf(state)}).Sync(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Snapshot.Height != 100 || !bytes.Equal(app.state, state) || app.height != 100 {
			t.Fatalf("restored height %d (%d bytes), want 100 and the snapshot's state", app.height, len(app.state))
		}
		if len(app.bad) == 0 || app.bad[0] != "bad" {
			t.Fatalf("the app refused chunks from %v; want one from the corrupting peer (the test must exercise it)", app.bad)
		}
		if slices.Contains(app.senders, "bad") {
			t.Errorf("accepted chunks came from %v; none may come from the corrupting peer", app.senders)
		}
		if !net.reported("bad", ErrBadChunk) {
			t.Errorf("the corrupting peer was not reported: %v", net.reports)
		}
		if len(net.reports["good1"])+len(net.reports["good2"]) != 0 {
			t.Errorf("honest peers reported: %v", net.reports)
		}
		// After its chunk was refused, "bad" is asked nothing more: its
		// requests are only those in flight when the first refusal came
		// (at most one per fetcher).
		var toBad int
		for _, r := range net.requests {
			if strings.HasPrefix(r, "bad:") {
				toBad++
			}
		}
		if toBad > testConfig.ChunkFetchers*2 {
			t.Errorf("%d requests went to the rejected peer: %v", toBad, net.requests)
		}
	})
}

// TestChunkTimeoutAskedElsewhere: a peer that never answers costs one
// chunk_request_timeout; the chunk comes from the other peer and the
// silent one is reported.
func TestChunkTimeoutAskedElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		state := testState(2, 1000)
		snap, chunks := makeSnapshot(50, 1, state, 4)
		net := newFakeNet()
		net.serve("silent", snap, chunks).silent = true
		net.serve("good", snap, chunks)
		app := &fakeApp{}
		start := time.Now()
		if _, err := New(testConfig, app, net, fakeVerifier{50: appHashOf(state)}).Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < testConfig.DiscoveryTime+testConfig.ChunkRequestTimeout {
			t.Errorf("took %v; a silent peer must cost a chunk_request_timeout after discovery", took)
		}
		if !bytes.Equal(app.state, state) {
			t.Fatal("state not restored")
		}
		if len(net.reports["silent"]) == 0 || len(net.reports["good"]) != 0 {
			t.Errorf("reports %v; want the silent peer only", net.reports)
		}
	})
}

// TestAppHashMismatchRejectedNextTried: the best snapshot (height 20)
// restores to a state whose app hash is not the one the light client
// verified for height 20: it is rejected, its peer reported, and the next
// snapshot (height 10) restored.
func TestAppHashMismatchRejectedNextTried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := testState(3, 500)
		forged := testState(4, 500)
		high, highChunks := makeSnapshot(20, 1, forged, 3)
		low, lowChunks := makeSnapshot(10, 1, good, 3)
		net := newFakeNet()
		net.serve("liar", high, highChunks)
		net.serve("honest", low, lowChunks)
		app := &fakeApp{}
		verified := fakeVerifier{20: appHashOf(testState(5, 500)), 10: appHashOf(good)}
		res, err := New(testConfig, app, net, verified).Sync(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.Snapshot.Height != 10 || !bytes.Equal(res.AppHash, appHashOf(good)) || !bytes.Equal(app.state, good) {
			t.Fatalf("restored height %d; want 10 with its verified state", res.Snapshot.Height)
		}
		if !slices.Equal(app.offered, []uint64{20, 10}) {
			t.Errorf("offered heights %v, want [20 10]", app.offered)
		}
		if !net.reported("liar", ErrAppHashMismatch) || len(net.reports["honest"]) != 0 {
			t.Errorf("reports %v; want the peer of the mismatching snapshot only", net.reports)
		}
	})
}

// TestNoSnapshots: peers that serve no snapshot give a clear error after
// discovery_time (and once more after looking again, nothing: the error
// comes after one discovery_time, not two).
func TestNoSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := newFakeNet()
		net.peers["empty"] = &fakePeer{}
		start := time.Now()
		_, err := New(testConfig, &fakeApp{}, net, fakeVerifier{}).Sync(context.Background())
		took := time.Since(start)
		if !errors.Is(err, ErrNoSnapshots) {
			t.Fatalf("got %v, want ErrNoSnapshots", err)
		}
		if took != testConfig.DiscoveryTime {
			t.Errorf("failed after %v, want discovery_time %v", took, testConfig.DiscoveryTime)
		}
		for _, want := range []string{"discovery_time", "blocksync_fallback"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	})
}

// TestUnverifiableSnapshotRejected: a snapshot at a height the light client
// cannot verify is never offered to the application.
func TestUnverifiableSnapshotRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		state := testState(6, 300)
		snap, chunks := makeSnapshot(30, 1, state, 2)
		net := newFakeNet()
		net.serve("p", snap, chunks)
		app := &fakeApp{}
		_, err := New(testConfig, app, net, fakeVerifier{}).Sync(context.Background())
		if !errors.Is(err, ErrNoSnapshots) || !strings.Contains(err.Error(), "light client") {
			t.Fatalf("got %v, want ErrNoSnapshots naming the light client", err)
		}
		if len(app.offered) != 0 {
			t.Errorf("offered %v to the application", app.offered)
		}
	})
}
