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

// refusedForWait submits tx and fails the test unless the pool refuses it
// for its queue, with an error holding why, without asking the app.
func refusedForWait(t *testing.T, env *testEnv, tx, why string) {
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

// Admission by wait with slow blocks (a second apart, as with the default
// timeout_commit): a tx waiting for the next block is normal; once txs
// waited longer than twice the time between blocks, new txs and
// reservations are refused while the pool holds as many txs as blocks
// commit in that time, until a block's txs waited less. The pool is not
// drained empty first.
func TestMaxWaitSlowBlocks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	step := func(height int64, txs ...string) {
		t.Helper()
		env.clock.advance(time.Second)
		if err := env.commit(t, height, false, txs...); err != nil {
			t.Fatal(err)
		}
	}
	step(1) // the first block only sets the pace
	env.checkTx(t, "a", "b", "c", "d", "e", "f", "g", "h")
	step(2, "a", "b") // waited 1s: more than MaxWait, normal for slow blocks
	env.checkTx(t, "i")
	step(3, "c") // waited 2s: still no more than two blocks

	step(4, "d", "e") // waited 3s; at 2 tx/s, 2 txs take a block's time
	refusedForWait(t, env, "j", "the 4 txs pooled or reserved take about 1s to commit (2 tx/s)")
	if _, err := env.mp.Reserve(1); err == nil {
		t.Error("Reserve succeeded while the pool queues too long")
	}

	step(5, "f", "g", "h") // waited 4s; at 3 tx/s, 3 txs take a block's time
	env.checkTx(t, "j", "k")
	refusedForWait(t, env, "l", "the 3 txs pooled")

	step(6, "j") // waited 1s: admission reopens
	env.checkTx(t, "l", "m", "n", "o")
}

// Admission by wait with fast blocks (100ms apart, timeout_commit 0):
// txs waiting longer than MaxWait, though only a few blocks, make the pool
// hold no more than blocks commit in MaxWait, so blocks stay small and
// frequent instead of growing with a deep pool.
func TestMaxWaitFastBlocks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	step := func(height int64, txs ...string) {
		t.Helper()
		env.clock.advance(100 * time.Millisecond)
		if err := env.commit(t, height, false, txs...); err != nil {
			t.Fatal(err)
		}
	}
	step(1)
	env.checkTx(t, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	for h, tx := range []string{"a", "b", "c", "d", "e"} { // waited 100 to 500ms
		step(int64(h+2), tx)
	}
	env.checkTx(t, "k")
	// f waited 600ms. A tx a block of 100ms is 10 tx/s, averaged over 1s
	// from nothing: 10×(1−0.9⁶) = 4.7 tx/s; 2 txs take MaxWait.
	step(7, "f")
	refusedForWait(t, env, "l", "the 5 txs pooled or reserved take about 500ms to commit (5 tx/s)")
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

// A stall (blocks a second apart for a while, after fast blocks) is not
// taken for slow consensus: txs that waited a second are too long a queue
// and blocks are cut back to MaxWait's worth. Only once blocks have been
// slow for recentSpan does the bound follow them.
func TestMaxWaitStallIsNotSlowConsensus(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	step := blockStepper(t, env)
	for range 3 {
		step(100 * time.Millisecond)
	}
	env.checkTx(t, "a", "b", "c", "d", "e", "f")
	step(time.Second, "a") // waited 1s > MaxWait, blocks were 100ms apart
	refusedForWait(t, env, "g", "take about 500ms to commit (1 tx/s)")

	for range 30 {
		step(time.Second)
	}
	env.checkTx(t, "g")
	step(time.Second, "b") // blocks have been a second apart for 30s
	refusedForWait(t, env, "h", "the 5 txs pooled or reserved take about 1s to commit (1 tx/s)")
}

// Once the queue was too long, admission stays limited until a block's txs
// waited no more than half as long as too long: a block of fresh txs does
// not open the pool wide to a flood.
func TestMaxWaitHysteresis(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	step := blockStepper(t, env)
	env.checkTx(t, "a", "b", "c", "d", "e", "f")
	step(time.Second) // blocks a second apart: too long is 2s, half is 1s
	step(time.Second)
	env.clock.advance(time.Second / 2)
	env.checkTx(t, "x")
	step(time.Second/2, "a", "b") // waited 3s; at 2 tx/s the limit is 2
	refusedForWait(t, env, "g", "the 5 txs pooled")
	step(time.Second, "x") // waited 1.5s: more than half, still limited
	refusedForWait(t, env, "g", "the 4 txs pooled or reserved take about 1s to commit (1 tx/s)")
	step(time.Second, "c", "d", "e") // at 3 tx/s the limit is 3; 1 pooled
	env.checkTx(t, "y", "z")
	refusedForWait(t, env, "g", "the 3 txs pooled")
	step(time.Second, "y") // waited 1s: half, admission reopens
	env.checkTx(t, "g", "h", "i", "j")
}

// While no block comes for longer than too long, the pool takes no more
// txs than blocks commit in MaxWait, before any block tells how long its
// txs waited: a flood during a stall does not make the next block a big one.
func TestMaxWaitDuringStall(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWait = 500 * time.Millisecond
	env := newTestEnv(t, cfg)
	next := blockStepper(t, env)
	step := func(txs ...string) { t.Helper(); next(100*time.Millisecond, txs...) }
	step()
	env.checkTx(t, "a", "b", "c", "d", "e")
	step("a")
	step("b")
	step("c") // 1, 1.9 then 2.7 tx/s: 1 tx takes MaxWait
	env.checkTx(t, "f")
	env.clock.advance(600 * time.Millisecond) // no block since 600ms
	refusedForWait(t, env, "g", "the 3 txs pooled or reserved take about 500ms to commit (3 tx/s)")
	step("d") // waited 1s: too long, the limit holds
	refusedForWait(t, env, "g", "the 2 txs pooled")
}

// blockStepper returns a function that moves env's clock on by d and
// commits the next height with txs.
func blockStepper(t *testing.T, env *testEnv) func(d time.Duration, txs ...string) {
	height := int64(0)
	return func(d time.Duration, txs ...string) {
		t.Helper()
		env.clock.advance(d)
		height++
		if err := env.commit(t, height, false, txs...); err != nil {
			t.Fatal(err)
		}
	}
}
