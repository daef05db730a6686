package mempool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeApp is an in-memory Checker. It accepts every tx except those marked
// invalid, with the priority and gas set for it, and counts its calls.
type fakeApp struct {
	mu       sync.Mutex
	invalid  map[string]string // tx -> log of the rejection
	priority map[string]int64
	gas      map[string]int64
	checks   map[string]int // CheckTx calls with recheck=false, per tx
	rechecks int
	err      error // returned by every call when set
}

func newFakeApp() *fakeApp {
	return &fakeApp{
		invalid:  make(map[string]string),
		priority: make(map[string]int64),
		gas:      make(map[string]int64),
		checks:   make(map[string]int),
	}
}

func (a *fakeApp) CheckTx(_ context.Context, tx []byte, recheck bool) (CheckResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if recheck {
		a.rechecks++
	} else {
		a.checks[string(tx)]++
	}
	if a.err != nil {
		return CheckResult{}, a.err
	}
	if log, ok := a.invalid[string(tx)]; ok {
		return CheckResult{Code: 3, Log: log}, nil
	}
	return CheckResult{Priority: a.priority[string(tx)], GasWanted: a.gas[string(tx)]}, nil
}

func (a *fakeApp) setInvalid(tx, log string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.invalid[tx] = log
}

func (a *fakeApp) setValid(tx string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.invalid, tx)
}

func (a *fakeApp) set(tx string, priority, gas int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.priority[tx], a.gas[tx] = priority, gas
}

func (a *fakeApp) setErr(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
}

func (a *fakeApp) checkCount(tx string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checks[tx]
}

func (a *fakeApp) recheckCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rechecks
}

// fakeStore is an in-memory Committed: the tx index of a block store.
type fakeStore struct {
	mu      sync.Mutex
	txs     map[[32]byte]int64 // hash -> height
	lookups int                // HasTx calls
}

func newFakeStore() *fakeStore { return &fakeStore{txs: make(map[[32]byte]int64)} }

func (s *fakeStore) HasTx(hash [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	_, ok := s.txs[hash]
	return ok
}

func (s *fakeStore) lookupCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// save indexes the txs of a block, failing if one is already in a block.
func (s *fakeStore) save(height int64, txs [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tx := range txs {
		h := TxHash(tx)
		if prev, ok := s.txs[h]; ok {
			return fmt.Errorf("tx %q at height %d is already in block %d", tx, height, prev)
		}
		s.txs[h] = height
	}
	return nil
}

// testEnv is a mempool with its fakes.
type testEnv struct {
	mp      *Mempool
	app     *fakeApp
	store   *fakeStore
	metrics *Metrics
	logs    *bytes.Buffer // written only by Update, under Lock
	clock   *fakeClock    // the mempool's; it stands still unless moved
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	env := &testEnv{app: newFakeApp(), store: newFakeStore(), metrics: NopMetrics(), logs: new(bytes.Buffer)}
	logger := slog.New(slog.NewTextHandler(env.logs, nil))
	mp, err := New(cfg, env.app, env.store, logger, env.metrics)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.clock = &fakeClock{t: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}
	mp.now = env.clock.now
	env.mp = mp
	return env
}

// checkTx submits tx and fails the test unless it is admitted.
func (env *testEnv) checkTx(t *testing.T, txs ...string) {
	t.Helper()
	for _, tx := range txs {
		if _, err := env.mp.CheckTx(context.Background(), []byte(tx)); err != nil {
			t.Fatalf("CheckTx(%q): %v", tx, err)
		}
	}
}

// commit commits a block as the node does: under Lock, save the block, then
// Update the mempool.
func (env *testEnv) commit(t *testing.T, height int64, recheck bool, txs ...string) error {
	t.Helper()
	block := make([][]byte, len(txs))
	for i, tx := range txs {
		block[i] = []byte(tx)
	}
	env.mp.Lock()
	defer env.mp.Unlock()
	if err := env.store.save(height, block); err != nil {
		t.Fatal(err)
	}
	return env.mp.Update(context.Background(), height, block, recheck)
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// metricValue reads a counter or gauge.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

func strs(txs [][]byte) []string {
	out := make([]string, len(txs))
	for i, tx := range txs {
		out[i] = string(tx)
	}
	return out
}
