package mempool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no txs", func(c *Config) { c.MaxTxs = 0 }, "MaxTxs"},
		{"no bytes", func(c *Config) { c.MaxBytes = -1 }, "MaxBytes"},
		{"no tx bytes", func(c *Config) { c.MaxTxBytes = 0 }, "MaxTxBytes"},
		{"tx larger than pool", func(c *Config) { c.MaxBytes, c.MaxTxBytes = 10, 11 }, "MaxTxBytes"},
		{"no cache", func(c *Config) { c.CacheSize = 0 }, "CacheSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			_, err := New(cfg, newFakeApp(), newFakeStore(), nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: error = %v, want one about %s", err, tt.want)
			}
		})
	}
	if _, err := New(DefaultConfig(), nil, newFakeStore(), nil, nil); err == nil {
		t.Fatal("New without a Checker: no error")
	}
}

func TestCheckTxDedupe(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "a")
	_, err := env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxInCache)
	if n := env.app.checkCount("a"); n != 1 {
		t.Fatalf("app checked the tx %d times, want 1", n)
	}
	if n := env.mp.Size(); n != 1 {
		t.Fatalf("Size = %d, want 1", n)
	}
}

func TestCheckTxDedupeAfterCacheEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CacheSize = 1
	env := newTestEnv(t, cfg)
	env.checkTx(t, "a", "b") // "b" pushes "a" out of the cache
	_, err := env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxInCache)
	if n := env.mp.Size(); n != 2 {
		t.Fatalf("Size = %d, want 2", n)
	}
	// Still in the pool, so still remembered: no second application check,
	// and no lookup in the committed index either.
	lookups := env.store.lookupCount()
	_, err = env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxInCache)
	if n := env.app.checkCount("a"); n != 1 {
		t.Fatalf("app checked the tx %d times, want 1", n)
	}
	if n := env.store.lookupCount() - lookups; n != 0 {
		t.Fatalf("a pooled tx was looked up in the committed index %d times", n)
	}
}

func TestCheckTxTooLarge(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTxBytes = 4
	env := newTestEnv(t, cfg)
	_, err := env.mp.CheckTx(context.Background(), []byte("12345"))
	wantErr(t, err, ErrTxTooLarge)
	if msg := err.Error(); !strings.Contains(msg, "5 bytes") || !strings.Contains(msg, "max 4") {
		t.Fatalf("error %q does not give the size and the limit", msg)
	}
	if got := metricValue(t, env.metrics.Rejected.WithLabelValues(reasonTooLarge)); got != 1 {
		t.Fatalf("rejected{too_large} = %v, want 1", got)
	}
	env.checkTx(t, "1234")
}

func TestCheckTxMempoolFull(t *testing.T) {
	tests := []struct {
		name     string
		maxTxs   int
		maxBytes int64
		want     []string // in the error message
	}{
		{"count", 2, 1000, []string{"2 txs (max 2)"}},
		{"bytes", 100, 5, []string{"4 bytes (max 5)", "tx of 2 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxTxs, cfg.MaxBytes, cfg.MaxTxBytes = tt.maxTxs, tt.maxBytes, 2
			env := newTestEnv(t, cfg)
			r, err := env.mp.Reserve(2)
			if err != nil {
				t.Fatalf("Reserve on an empty pool: %v", err)
			}
			r.Release()
			env.checkTx(t, "aa", "bb")
			_, err = env.mp.Reserve(2)
			wantErr(t, err, ErrMempoolFull)

			lookups := env.store.lookupCount()
			_, err = env.mp.CheckTx(context.Background(), []byte("cc"))
			wantErr(t, err, ErrMempoolFull)
			if n := env.store.lookupCount() - lookups; n != 0 {
				t.Errorf("a full pool still asked the committed index %d times", n)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := env.app.checkCount("cc"); n != 0 {
				t.Errorf("the app checked a tx that cannot fit")
			}
			if got := metricValue(t, env.metrics.Rejected.WithLabelValues(reasonFull)); got != 2 {
				t.Errorf("rejected{full} = %v, want 2 (Reserve, then CheckTx)", got)
			}

			// The refused tx was not cached: it gets in once there is room.
			if err := env.commit(t, 1, false, "aa"); err != nil {
				t.Fatal(err)
			}
			env.checkTx(t, "cc")
		})
	}
}

func TestCheckTxRejectedByApp(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.app.setInvalid("a", "bad nonce")
	res, err := env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrRejected)
	if res.Code != 3 || !strings.Contains(err.Error(), "code 3") || !strings.Contains(err.Error(), "bad nonce") {
		t.Fatalf("result %+v, error %q: want the code and log of the application", res, err)
	}
	if got := metricValue(t, env.metrics.Rejected.WithLabelValues(reasonApp)); got != 1 {
		t.Fatalf("rejected{app} = %v, want 1", got)
	}
	if env.mp.Size() != 0 {
		t.Fatal("a rejected tx is in the pool")
	}
	// Forgotten by the cache: once valid, it can be resubmitted.
	env.app.setValid("a")
	env.checkTx(t, "a")
}

func TestCheckTxAppError(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	boom := errors.New("connection reset")
	env.app.setErr(boom)
	_, err := env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, boom)
	env.app.setErr(nil)
	env.checkTx(t, "a")
}

func TestCheckTxCommitted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CacheSize = 2
	env := newTestEnv(t, cfg)
	env.checkTx(t, "a")
	if err := env.commit(t, 1, true, "a"); err != nil {
		t.Fatal(err)
	}
	// Just committed: the cache still remembers it.
	_, err := env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxInCache)

	// Push "a" out of the cache (it remembers up to twice its size); the
	// committed index still refuses it.
	env.checkTx(t, "b", "c", "d", "e")
	_, err = env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxCommitted)
	// Even after a flush, which empties the cache.
	env.mp.Flush()
	_, err = env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxCommitted)
	// The refusal cached it again: the index is not asked twice in a row.
	_, err = env.mp.CheckTx(context.Background(), []byte("a"))
	wantErr(t, err, ErrTxInCache)

	if n := env.app.checkCount("a"); n != 1 {
		t.Fatalf("app checked a committed tx again: %d checks", n)
	}
	if got := metricValue(t, env.metrics.AlreadyCommitted); got != 2 {
		t.Fatalf("already committed = %v, want 2", got)
	}
}

func TestNewMetricsRegisters(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	env := newTestEnv(t, DefaultConfig())
	env.mp.metrics = m
	env.checkTx(t, "abc")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]bool)
	for _, f := range families {
		got[f.GetName()] = true
	}
	for _, name := range []string{"bftnode_mempool_size", "bftnode_mempool_size_bytes", "bftnode_mempool_evicted_by_recheck_total", "bftnode_mempool_already_committed_txs_total"} {
		if !got[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
	if v := metricValue(t, m.SizeBytes); v != 3 {
		t.Errorf("size_bytes = %v, want 3", v)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice: no error")
	}
}

func TestCheckTxFromRecordsSenders(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	ctx := context.Background()
	if _, err := env.mp.CheckTxFrom(ctx, []byte("a"), "p1"); err != nil {
		t.Fatal(err)
	}
	_, err := env.mp.CheckTxFrom(ctx, []byte("a"), "p2")
	wantErr(t, err, ErrTxInCache)
	env.checkTx(t, "b")

	for _, tt := range []struct {
		peer string
		want []string
	}{
		{"p1", []string{"b"}},
		{"p2", []string{"b"}},
		{"p3", []string{"a", "b"}},
	} {
		var got []string
		for _, tx := range env.mp.TxsAfter(0, tt.peer, 0).Txs {
			got = append(got, string(tx.Tx))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("TxsAfter for %s = %q, want %q", tt.peer, got, tt.want)
		}
	}
}

// A tx the cache remembers is refused, and its sender recorded, while the
// node holds Lock to commit a block: gossip duplicates never wait for it.
func TestCheckTxSeenDoesNotWaitForLock(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "a")
	env.mp.Lock()
	done := make(chan error, 1)
	go func() {
		_, err := env.mp.CheckTxFrom(context.Background(), []byte("a"), "p1")
		done <- err
	}()
	select {
	case err := <-done:
		wantErr(t, err, ErrTxInCache)
	case <-time.After(30 * time.Second):
		t.Fatal("CheckTx of a seen tx waited for Lock")
	}
	env.mp.Unlock()
	if txs := env.mp.TxsAfter(0, "p1", 0).Txs; len(txs) != 0 {
		t.Fatalf("p1 sent the tx, yet gossip would send it back: %q", txs[0].Tx)
	}
}

// A tx the application refused, sent again by a peer before the next
// block, is refused again without asking the application, and still
// counts as rejected (the transport charges the peer for it). A block
// may change what the application accepts: after Update it is asked
// again. A local submission always gets the application's own answer.
// Finding 6 of issue 16: the refused tx was forgotten, so a peer could
// make the application check the same bad tx again and again.
func TestRejectedTxFromPeerRemembered(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.app.setInvalid("bad", "bad nonce")
	ctx := context.Background()
	for range 5 {
		_, err := env.mp.CheckTxFrom(ctx, []byte("bad"), "peer1")
		wantErr(t, err, ErrRejected)
	}
	_, err := env.mp.CheckTxFrom(ctx, []byte("bad"), "peer2")
	wantErr(t, err, ErrRejected)
	if got := env.app.checkCount("bad"); got != 1 {
		t.Fatalf("the application checked the refused tx %d times, want once", got)
	}
	if got := metricValue(t, env.metrics.Rejected.WithLabelValues(reasonApp)); got != 6 {
		t.Fatalf("rejected{app} = %v, want 6", got)
	}
	_, err = env.mp.CheckTx(ctx, []byte("bad"))
	wantErr(t, err, ErrRejected)
	if got := env.app.checkCount("bad"); got != 2 {
		t.Fatalf("a local submission was not checked by the application (%d checks)", got)
	}

	env.app.setValid("bad")
	env.mp.Lock()
	if err := env.mp.Update(ctx, 1, nil, false); err != nil {
		t.Fatal(err)
	}
	env.mp.Unlock()
	if _, err := env.mp.CheckTxFrom(ctx, []byte("bad"), "peer1"); err != nil {
		t.Fatalf("after a block, the now valid tx: %v", err)
	}
}
