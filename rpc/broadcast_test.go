package rpc

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestBroadcastTxCommitTimeout uses a fake clock: the tx is accepted but
// never committed, so the call times out after TimeoutBroadcastTxCommit.
func TestBroadcastTxCommitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.TimeoutBroadcastTxCommit = 3 * time.Second
		be := newFakeBackend(t, 1)
		srv, err := NewServer(cfg, be, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := parseJSONParams([]byte(`{"tx":"eD0x"}`), []string{"tx"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = srv.broadcastTxCommit(t.Context(), a)
		if !errors.Is(err, ErrTxCommitTimeout) {
			t.Fatalf("got %v, want ErrTxCommitTimeout", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("waited %v, want 3s", d)
		}
		synctest.Wait()
		if be.bus.NumSubscribers() != 0 {
			t.Error("commit subscription leaked")
		}
	})
}
