package rpc

import (
	"fmt"
	"testing"
	"time"
)

// waitInFlight polls until the fake backend holds n BroadcastTx calls.
func waitInFlight(t *testing.T, be *fakeBackend, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		be.mu.Lock()
		got := be.inFlight
		be.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d broadcasts in flight, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// One websocket connection's requests run concurrently: a slow request
// does not hold up the next one, each answer carries its request's id,
// and at most wsInFlight run at once (the connection is not read further
// meanwhile), so a flood of requests does not grow the node's memory.
func TestWebsocketRequestsRunConcurrentlyBounded(t *testing.T) {
	ts := startServer(t, 1, nil)
	gate := make(chan struct{})
	ts.be.mu.Lock()
	ts.be.gate = gate
	ts.be.mu.Unlock()
	c := dialWS(t, ts)

	c.send("slow", "broadcast_tx_sync", map[string]any{"tx": []byte("k=slow")})
	waitInFlight(t, ts.be, 1)
	if m := c.ack("fast", "health", nil); m["result"] == nil {
		t.Fatalf("health behind a held broadcast: %v", m)
	}

	n := wsInFlight + 20
	for i := range n - 1 {
		c.send(i, "broadcast_tx_sync", map[string]any{"tx": []byte(fmt.Sprintf("k=%d", i))})
	}
	waitInFlight(t, ts.be, wsInFlight)
	close(gate)

	answered := make(map[string]bool)
	for range n {
		m := c.read()
		id := fmt.Sprint(m["id"])
		if m["error"] != nil || m["result"] == nil {
			t.Fatalf("request %s: %v", id, m)
		}
		if answered[id] {
			t.Fatalf("request %s answered twice", id)
		}
		answered[id] = true
	}
	if !answered["slow"] {
		t.Error("the first request was not answered")
	}
	for i := range n - 1 {
		if !answered[fmt.Sprint(i)] {
			t.Errorf("request %d was not answered", i)
		}
	}
	ts.be.mu.Lock()
	most := ts.be.maxInFlight
	ts.be.mu.Unlock()
	if most != wsInFlight {
		t.Errorf("at most %d requests ran at once, want %d", most, wsInFlight)
	}
}
