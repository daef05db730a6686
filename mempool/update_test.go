package mempool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestUpdateRemovesCommittedTxs(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "a", "bb", "ccc")
	// "x" was proposed by another validator and never reached our pool.
	if err := env.commit(t, 1, false, "bb", "x"); err != nil {
		t.Fatal(err)
	}
	if got := strs(env.mp.ReapMaxBytesMaxGas(-1, -1)); fmt.Sprint(got) != "[a ccc]" {
		t.Fatalf("pool after Update = %q, want [a ccc]", got)
	}
	if n, b := env.mp.Size(), env.mp.SizeBytes(); n != 2 || b != 4 {
		t.Fatalf("Size, SizeBytes = %d, %d; want 2, 4", n, b)
	}
	if n, b := metricValue(t, env.metrics.Size), metricValue(t, env.metrics.SizeBytes); n != 2 || b != 4 {
		t.Fatalf("size metrics = %v, %v; want 2, 4", n, b)
	}
	// Both committed hashes stay cached, so the index is not even asked.
	for _, tx := range []string{"bb", "x"} {
		_, err := env.mp.CheckTx(context.Background(), []byte(tx))
		wantErr(t, err, ErrTxInCache)
	}
	if env.app.recheckCount() != 0 {
		t.Fatal("recheck=false rechecked txs")
	}
}

func TestUpdateRecheckEvicts(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "a", "b", "c", "d")
	env.app.setInvalid("b", "insufficient funds")
	env.app.setInvalid("d", "bad nonce")
	env.app.set("c", 7, 0)

	if err := env.commit(t, 5, true, "a"); err != nil {
		t.Fatal(err)
	}
	if got := strs(env.mp.ReapMaxBytesMaxGas(-1, -1)); fmt.Sprint(got) != "[c]" {
		t.Fatalf("pool after recheck = %q, want [c]", got)
	}
	if n := env.app.recheckCount(); n != 3 {
		t.Fatalf("rechecked %d txs, want 3 (the ones left after the block)", n)
	}
	if got := metricValue(t, env.metrics.EvictedByRecheck); got != 2 {
		t.Fatalf("evicted by recheck = %v, want 2", got)
	}
	logs := strings.Split(strings.TrimSpace(env.logs.String()), "\n")
	for i, want := range []struct{ tx, reason string }{{"b", "insufficient funds"}, {"d", "bad nonce"}} {
		hash := fmt.Sprintf("%X", TxHash([]byte(want.tx)))
		if i >= len(logs) || !strings.Contains(logs[i], "level=INFO") || !strings.Contains(logs[i], hash) ||
			!strings.Contains(logs[i], want.reason) || !strings.Contains(logs[i], "height=5") {
			t.Errorf("log line %d for %q: got %q", i, want.tx, logs)
		}
	}
	// The recheck's priority replaced the one from the first check.
	if got := env.mp.TxsAfter(0, "", 0).Txs; len(got) != 1 || env.mp.byHash[got[0].Hash].priority != 7 {
		t.Errorf("priority not updated by the recheck")
	}
	// An evicted tx is forgotten by the cache and may come back once valid.
	env.app.setValid("b")
	env.checkTx(t, "b")
}

func TestUpdateRecheckError(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "a", "b", "c")
	env.app.setInvalid("b", "stale")
	boom := errors.New("app down")
	env.app.setErr(boom)
	err := env.commit(t, 2, true, "a")
	wantErr(t, err, boom)
	if !strings.Contains(err.Error(), "height 2") {
		t.Errorf("error %q does not name the height", err)
	}
	if got := strs(env.mp.ReapMaxBytesMaxGas(-1, -1)); fmt.Sprint(got) != "[b c]" {
		t.Fatalf("pool = %q, want the unchecked txs kept: [b c]", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env.app.setErr(nil)
	env.mp.Lock()
	err = env.mp.Update(ctx, 3, nil, true)
	env.mp.Unlock()
	wantErr(t, err, context.Canceled)
	if env.mp.Size() != 2 {
		t.Fatalf("Size = %d after a cancelled recheck, want 2", env.mp.Size())
	}
}

func TestUpdateWithoutLockPanics(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Lock") {
			t.Fatalf("recover() = %v, want a panic about Lock", r)
		}
	}()
	_ = env.mp.Update(context.Background(), 1, nil, false)
}

func TestTxsAvailable(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	ch := env.mp.TxsAvailable()
	notified := func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"empty pool", func() {}, false},
		{"first tx", func() { env.checkTx(t, "a") }, true},
		{"second tx, same height", func() { env.checkTx(t, "b") }, false},
		{"update leaves txs", func() { mustCommit(t, env, 1, "a") }, true},
		{"more txs, same height", func() { env.checkTx(t, "c") }, false},
		{"update empties pool", func() { mustCommit(t, env, 2, "b", "c") }, false},
		{"update of empty pool", func() { mustCommit(t, env, 3) }, false},
		{"first tx after update", func() { env.checkTx(t, "d") }, true},
		{"unconsumed: coalesced", func() { mustCommit(t, env, 4); mustCommit(t, env, 5) }, true},
		{"only once", func() {}, false},
	}
	for _, s := range steps {
		s.do()
		if got := notified(); got != s.want {
			t.Fatalf("%s: notified = %v, want %v", s.name, got, s.want)
		}
	}
}

func mustCommit(t *testing.T, env *testEnv, height int64, txs ...string) {
	t.Helper()
	if err := env.commit(t, height, true, txs...); err != nil {
		t.Fatal(err)
	}
}
