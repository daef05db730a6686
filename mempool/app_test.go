package mempool

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// appSideFake is an application keeping its own mempool: CheckTx and
// InsertTx add to it (unless a code is set for the tx), ReapTxs returns it
// all in insertion order; every call is counted.
type appSideFake struct {
	mu       sync.Mutex
	codes    map[string]uint32 // tx -> code of CheckTx and InsertTx
	pool     [][]byte
	checks   map[string]int
	inserts  map[string]int
	reapErr  error
	reaps    int
	reapArgs [2]uint64
}

func newAppSideFake() *appSideFake {
	return &appSideFake{codes: map[string]uint32{}, checks: map[string]int{}, inserts: map[string]int{}}
}

func (a *appSideFake) take(tx []byte, calls map[string]int) uint32 {
	calls[string(tx)]++
	code := a.codes[string(tx)]
	if code == 0 {
		a.pool = append(a.pool, tx)
	}
	return code
}

func (a *appSideFake) CheckTx(_ context.Context, tx []byte, recheck bool) (CheckResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if recheck {
		return CheckResult{}, errors.New("an app-side mempool is never rechecked")
	}
	code := a.take(tx, a.checks)
	return CheckResult{Code: code, Log: "refused"}, nil
}

func (a *appSideFake) InsertTx(_ context.Context, tx []byte) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.take(tx, a.inserts), nil
}

func (a *appSideFake) ReapTxs(_ context.Context, maxBytes, maxGas uint64) ([][]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reaps++
	a.reapArgs = [2]uint64{maxBytes, maxGas}
	if a.reapErr != nil {
		return nil, a.reapErr
	}
	return slices.Clone(a.pool), nil
}

func (a *appSideFake) counts(tx string) (checks, inserts int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checks[tx], a.inserts[tx]
}

func newTestAppPool(t *testing.T, cfg AppConfig, a *appSideFake) *AppPool {
	t.Helper()
	p, err := NewAppPool(cfg, a, a, slog.New(slog.DiscardHandler), NopMetrics())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var testAppConfig = AppConfig{MaxTxBytes: 100, SeenCacheSize: 100, ReapInterval: time.Hour, CheckTxRetryDelay: time.Hour}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAppPoolRPCTxGoesToCheckTx: a tx submitted to the node goes to the
// application's CheckTx once (not InsertTx), and nothing is kept on the
// node's side: the proposer gets no txs and is never told txs are waiting.
func TestAppPoolRPCTxGoesToCheckTx(t *testing.T) {
	a := newAppSideFake()
	p := newTestAppPool(t, testAppConfig, a)
	ctx := context.Background()
	if res, err := p.CheckTx(ctx, []byte("k=v")); err != nil || !res.IsOK() {
		t.Fatalf("CheckTx = %+v, %v; want OK", res, err)
	}
	if _, err := p.CheckTx(ctx, []byte("k=v")); !errors.Is(err, ErrTxInCache) {
		t.Fatalf("second CheckTx err = %v, want ErrTxInCache", err)
	}
	if checks, inserts := a.counts("k=v"); checks != 1 || inserts != 0 {
		t.Fatalf("app saw %d CheckTx and %d InsertTx, want 1 and 0", checks, inserts)
	}
	if err := p.InsertTx(ctx, []byte("k=v"), "peer1"); !errors.Is(err, ErrTxInCache) {
		t.Fatalf("the same tx from a peer: err = %v, want ErrTxInCache", err)
	}
	if _, err := p.CheckTx(ctx, make([]byte, 101)); !errors.Is(err, ErrTxTooLarge) {
		t.Fatalf("101-byte tx err = %v, want ErrTxTooLarge", err)
	}
	if _, err := p.CheckTx(ctx, nil); !errors.Is(err, ErrRejected) {
		t.Fatalf("empty tx err = %v, want ErrRejected", err)
	}
	if txs := p.ReapMaxBytesMaxGas(-1, -1); len(txs) != 0 {
		t.Fatalf("proposer reaped %d txs from the node's side, want none", len(txs))
	}
	if p.TxsAvailable() != nil {
		t.Fatal("TxsAvailable is a channel; want nil (never fires, as in CometBFT)")
	}
	if err := p.Update(ctx, 1, [][]byte{[]byte("k=v")}, true); err != nil {
		t.Fatal(err)
	}
	if checks, _ := a.counts("k=v"); checks != 1 {
		t.Fatalf("Update rechecked: %d CheckTx calls, want 1", checks)
	}
}

// TestAppPoolRefusedRPCTx: a tx the application refuses is returned with
// its code and an ErrRejected error; it stays refused as seen for
// check_tx_retry_delay, and for a tenth of it with a retryable code.
func TestAppPoolRefusedRPCTx(t *testing.T) {
	a := newAppSideFake()
	cfg := testAppConfig
	cfg.CheckTxRetryDelay = 10 * time.Second
	p := newTestAppPool(t, cfg, a)
	ctx := context.Background()
	a.codes["bad"], a.codes["busy"] = 5, CodeRetry
	res, err := p.CheckTx(ctx, []byte("bad"))
	if !errors.Is(err, ErrRejected) || res.Code != 5 || res.Log != "refused" {
		t.Fatalf("CheckTx(bad) = %+v, %v; want code 5 and ErrRejected", res, err)
	}
	if _, err := p.CheckTx(ctx, []byte("busy")); !errors.Is(err, ErrRejected) {
		t.Fatalf("CheckTx(busy) err = %v, want ErrRejected", err)
	}
	// A tenth of 10 s: the retryable tx is let through again within the
	// deadline, long before the other.
	waitFor(t, "the retryable tx to be forgotten", func() bool {
		_, err := p.CheckTx(ctx, []byte("busy"))
		return !errors.Is(err, ErrTxInCache)
	})
	if checks, _ := a.counts("busy"); checks != 2 {
		t.Fatalf("busy checked %d times, want 2", checks)
	}
	if _, err := p.CheckTx(ctx, []byte("bad")); !errors.Is(err, ErrTxInCache) {
		t.Fatalf("bad resubmitted at once: err = %v, want ErrTxInCache", err)
	}
}

// TestAppPoolPeerTxGoesToInsertTx: a peer's tx goes to InsertTx once; the
// application's codes become ErrRejected or, from CodeRetry on,
// ErrRetryLater.
func TestAppPoolPeerTxGoesToInsertTx(t *testing.T) {
	a := newAppSideFake()
	p := newTestAppPool(t, testAppConfig, a)
	ctx := context.Background()
	a.codes["bad"], a.codes["busy"] = 1, CodeRetry+7
	if err := p.InsertTx(ctx, []byte("good"), "peer1"); err != nil {
		t.Fatal(err)
	}
	if err := p.InsertTx(ctx, []byte("good"), "peer2"); !errors.Is(err, ErrTxInCache) {
		t.Fatalf("second copy: err = %v, want ErrTxInCache", err)
	}
	if checks, inserts := a.counts("good"); checks != 0 || inserts != 1 {
		t.Fatalf("app saw %d CheckTx and %d InsertTx, want 0 and 1", checks, inserts)
	}
	if err := p.InsertTx(ctx, []byte("bad"), "peer1"); !errors.Is(err, ErrRejected) {
		t.Fatalf("bad: err = %v, want ErrRejected", err)
	}
	if err := p.InsertTx(ctx, []byte("busy"), "peer1"); !errors.Is(err, ErrRetryLater) || errors.Is(err, ErrRejected) {
		t.Fatalf("busy: err = %v, want ErrRetryLater only", err)
	}
}

// TestAppPoolReapsAndGossips: Run reaps every reap_interval with the
// configured limits; gossip streams each reaped tx once, in reap order,
// and a peer's copy of a reaped tx is not inserted again.
func TestAppPoolReapsAndGossips(t *testing.T) {
	a := newAppSideFake()
	cfg := testAppConfig
	cfg.ReapInterval, cfg.ReapMaxBytes, cfg.ReapMaxGas = 5*time.Millisecond, 1000, 50
	p := newTestAppPool(t, cfg, a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	if _, err := p.CheckTx(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	b := p.TxsAfter(0, "peer1", 0)
	if len(b.Txs) != 0 {
		t.Fatalf("streamed %d txs before any reap", len(b.Txs))
	}
	a.mu.Lock()
	a.pool = append(a.pool, []byte("b")) // in the app's pool by its own means
	a.mu.Unlock()
	var got []string
	cursor := b.Next
	for len(got) < 2 {
		select {
		case <-b.Wait:
		case <-time.After(20 * time.Second):
			t.Fatalf("gossip got %q, waiting for a and b", got)
		}
		b = p.TxsAfter(cursor, "peer1", 1)
		for _, tx := range b.Txs {
			got = append(got, string(tx.Tx))
		}
		cursor = b.Next
	}
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("gossiped %q, want [a b]", got)
	}
	if err := p.InsertTx(ctx, []byte("b"), "peer2"); !errors.Is(err, ErrTxInCache) {
		t.Fatalf("peer's copy of a reaped tx: err = %v, want ErrTxInCache", err)
	}
	if _, inserts := a.counts("b"); inserts != 0 {
		t.Fatalf("reaped tx inserted %d times", inserts)
	}
	// Later reaps return a and b again: nothing new to stream.
	a.mu.Lock()
	before := a.reaps
	a.mu.Unlock()
	waitFor(t, "two more reaps", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.reaps >= before+2
	})
	if b := p.TxsAfter(cursor, "peer1", 0); len(b.Txs) != 0 {
		t.Fatalf("re-streamed %d txs already gossiped", len(b.Txs))
	}
	if b := p.TxsAfter(0, "peer3", 0); len(b.Txs) != 2 {
		t.Fatalf("a new peer gets %d txs, want 2", len(b.Txs))
	}
	a.mu.Lock()
	args := a.reapArgs
	a.mu.Unlock()
	if args != [2]uint64{1000, 50} {
		t.Fatalf("ReapTxs(max_bytes, max_gas) = %v, want [1000 50]", args)
	}
}

// TestAppPoolReapErrorIsNotFatal: a failing ReapTxs is tried again at the
// next interval; Run goes on until its context ends.
func TestAppPoolReapErrorIsNotFatal(t *testing.T) {
	a := newAppSideFake()
	a.reapErr = errors.New("app busy")
	cfg := testAppConfig
	cfg.ReapInterval = 5 * time.Millisecond
	p := newTestAppPool(t, cfg, a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, "three reaps", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.reaps >= 3
	})
	a.mu.Lock()
	a.reapErr = nil
	a.pool = [][]byte{[]byte("x")}
	a.mu.Unlock()
	waitFor(t, "x streamed after the errors", func() bool { return len(p.TxsAfter(0, "", 0).Txs) == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestNewAppPoolNeedsIntervals: zero reap_interval or check_tx_retry_delay
// is refused with an error naming them.
func TestNewAppPoolNeedsIntervals(t *testing.T) {
	for _, cfg := range []AppConfig{{CheckTxRetryDelay: time.Second}, {ReapInterval: time.Second}} {
		a := newAppSideFake()
		if _, err := NewAppPool(cfg, a, a, slog.New(slog.DiscardHandler), NopMetrics()); err == nil {
			t.Fatalf("NewAppPool(%+v) = nil error", cfg)
		}
	}
}
