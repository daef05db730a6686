package mempool

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A full pool refuses a new tx at once, also while a block commit holds
// the update lock: under a flood, refusals do not queue behind commits.
func TestFullPoolRefusesDuringUpdate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTxs = 2
	env := newTestEnv(t, cfg)
	env.checkTx(t, "a", "b")
	env.mp.Lock() // a block commit in progress
	done := make(chan error, 1)
	go func() {
		_, err := env.mp.CheckTx(context.Background(), []byte("c"))
		done <- err
	}()
	select {
	case err := <-done:
		wantErr(t, err, ErrMempoolFull)
	case <-time.After(30 * time.Second):
		env.mp.Unlock()
		t.Fatal("CheckTx on a full pool waited for the block commit")
	}
	env.mp.Unlock()
	if n := env.app.checkCount("c"); n != 0 {
		t.Errorf("the app checked a tx that cannot fit %d times", n)
	}
	// Not cached: admitted once a block made room.
	if err := env.commit(t, 1, false, "a"); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "c")
}

// A reservation made before the pool filled up still admits its tx; the
// early refusal does not apply to it.
func TestReservationAdmitsIntoFullPool(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTxs = 2
	env := newTestEnv(t, cfg)
	env.checkTx(t, "a")
	r, err := env.mp.Reserve(1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.mp.CheckTx(context.Background(), []byte("c"))
	wantErr(t, err, ErrMempoolFull)
	if _, err := r.CheckTx(context.Background(), []byte("r")); err != nil {
		t.Fatalf("reserved tx refused: %v", err)
	}
	if got := env.mp.Size(); got != 2 {
		t.Fatalf("pool holds %d txs, want 2", got)
	}
}

// Admission by wait: once the txs of a block waited in the pool longer than
// the bound (MaxWait, or 1.5 times the time between blocks if longer), new
// txs and reservations are refused while the pool holds as many txs as
// blocks commit within the bound, until a block's txs waited less. The pool
// is not drained empty first.
func TestMaxWaitRefusesWhileTxsQueueTooLong(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	step := func(height int64, txs ...string) {
		t.Helper()
		env.clock.advance(time.Second) // a block a second: the bound is 1.5s
		if err := env.commit(t, height, false, txs...); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(tx string, why string) {
		t.Helper()
		_, err := env.mp.CheckTx(context.Background(), []byte(tx))
		wantErr(t, err, ErrMempoolFull)
		if !strings.Contains(err.Error(), why) {
			t.Errorf("error %q does not say %q", err, why)
		}
		if n := env.app.checkCount(tx); n != 0 {
			t.Errorf("the app checked refused tx %q", tx)
		}
	}
	step(1) // the first block only sets the pace
	env.checkTx(t, "a", "b", "c", "d", "e", "f", "g", "h")
	step(2, "a", "b") // waited 1s: more than MaxWait, normal for slow blocks
	env.checkTx(t, "i")

	step(3, "c", "d") // waited 2s > 1.5s; at 2 tx/s, 3 txs take the bound
	refused("j", "waited more than 1.5s in it, and the 5 txs pooled or reserved take about as long to commit (2 tx/s)")
	if _, err := env.mp.Reserve(1); err == nil {
		t.Error("Reserve succeeded while the pool queues too long")
	}

	step(4, "e", "f", "g", "h") // waited 3s; at 4 tx/s, 6 txs take the bound
	env.checkTx(t, "j", "k", "l", "m", "n")
	refused("o", "the 6 txs pooled")

	step(5, "j", "k") // waited 1s: admission reopens
	env.checkTx(t, "o", "p", "q", "r")
}

// MaxWait 0 turns admission by wait off.
func TestMaxWaitZeroNeverRefuses(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 0
	env := newTestEnv(t, cfg)
	if err := env.commit(t, 1, false); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "a", "b")
	env.clock.advance(time.Hour)
	if err := env.commit(t, 2, false, "a"); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "c")
}
