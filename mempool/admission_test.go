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
// MaxWait (and than twice the time between blocks), new txs are refused,
// reservations too, until a block's txs waited less or the pool is empty.
func TestMaxWaitRefusesWhileTxsQueueTooLong(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	if err := env.commit(t, 1, false); err != nil { // the first block sets the pace
		t.Fatal(err)
	}
	env.checkTx(t, "a", "b", "c")
	env.clock.advance(200 * time.Millisecond)
	if err := env.commit(t, 2, false, "a"); err != nil { // waited 200ms: fine
		t.Fatal(err)
	}
	env.checkTx(t, "d")

	env.clock.advance(200 * time.Millisecond)
	if err := env.commit(t, 3, false); err != nil {
		t.Fatal(err)
	}
	env.clock.advance(200 * time.Millisecond)
	// b waited 600ms, blocks come every 200ms: the pool queues too long.
	if err := env.commit(t, 4, false, "b"); err != nil {
		t.Fatal(err)
	}
	_, err := env.mp.CheckTx(context.Background(), []byte("e"))
	wantErr(t, err, ErrMempoolFull)
	if !strings.Contains(err.Error(), "waited more than 500ms") {
		t.Errorf("error %q does not say why", err)
	}
	if _, err := env.mp.Reserve(1); err == nil {
		t.Error("Reserve succeeded while the pool queues too long")
	}
	if n := env.app.checkCount("e"); n != 0 {
		t.Errorf("the app checked a refused tx")
	}

	// d waited 400ms in the next block: admission reopens.
	if err := env.commit(t, 5, false, "d"); err != nil {
		t.Fatal(err)
	}
	env.clock.advance(time.Second)
	if err := env.commit(t, 6, false); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "e")

	// Slow blocks (1s apart): waiting 1s is normal, not a queue.
	env.clock.advance(time.Second)
	if err := env.commit(t, 7, false, "e"); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "f")
	env.clock.advance(time.Second)
	if err := env.commit(t, 8, false, "c"); err != nil { // c waited 3.6s > 2×1s
		t.Fatal(err)
	}
	_, err = env.mp.CheckTx(context.Background(), []byte("g"))
	wantErr(t, err, ErrMempoolFull)
	if err := env.commit(t, 9, false, "f"); err != nil { // f waited 1s, right after a block
		t.Fatal(err)
	}
	// The pool is empty now: admission reopens whatever the last block said.
	env.checkTx(t, "g")
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
