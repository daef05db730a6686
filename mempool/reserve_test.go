package mempool

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestReservationHoldsRoom(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTxs, cfg.MaxBytes, cfg.MaxTxBytes = 3, 100, 10
	env := newTestEnv(t, cfg)
	env.checkTx(t, "aa")
	r, err := env.mp.Reserve(2)
	if err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "bb")
	// Two txs and one reservation fill the pool: others are refused...
	_, err = env.mp.CheckTx(context.Background(), []byte("cc"))
	wantErr(t, err, ErrMempoolFull)
	if !strings.Contains(err.Error(), "3 txs (max 3)") {
		t.Errorf("error %q does not count the reservation", err)
	}
	_, err = env.mp.Reserve(2)
	wantErr(t, err, ErrMempoolFull)
	// ...and the reserved tx gets in.
	if _, err := r.CheckTx(context.Background(), []byte("dd")); err != nil {
		t.Fatalf("reserved tx refused: %v", err)
	}
	if got := strs(env.mp.ReapMaxBytesMaxGas(-1, -1)); strings.Join(got, ",") != "aa,bb,dd" {
		t.Fatalf("pool = %v, want aa,bb,dd", got)
	}
	r.Release() // the tx took the room: nothing to give back
	_, err = env.mp.CheckTx(context.Background(), []byte("cc"))
	wantErr(t, err, ErrMempoolFull)
}

func TestReservationFreedOnRefusal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTxs, cfg.MaxBytes, cfg.MaxTxBytes = 1, 100, 10
	env := newTestEnv(t, cfg)
	env.app.setInvalid("bad", "no")
	r, err := env.mp.Reserve(3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.CheckTx(context.Background(), []byte("bad"))
	wantErr(t, err, ErrRejected)
	env.checkTx(t, "ok") // the room is free again

	// Unused room is given back by Release, once.
	env2 := newTestEnv(t, cfg)
	r, err = env2.mp.Reserve(3)
	if err != nil {
		t.Fatal(err)
	}
	r.Release()
	r.Release()
	env2.checkTx(t, "ok")
	_, err = env2.mp.Reserve(1)
	wantErr(t, err, ErrMempoolFull)

	_, err = env2.mp.Reserve(11)
	wantErr(t, err, ErrTxTooLarge)
}

func TestReservationWrongSize(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	r, err := env.mp.Reserve(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CheckTx(context.Background(), []byte("abc")); err == nil || !strings.Contains(err.Error(), "reserved for 2") {
		t.Fatalf("tx larger than its reservation: err = %v", err)
	}
	if env.mp.Size() != 0 {
		t.Fatal("a tx larger than its reservation was admitted")
	}
	env.checkTx(t, "aa") // nothing stays reserved
}

// TestReservationsUnderConcurrentFlood races reserved submissions against
// unreserved ones (as from peers) on a nearly full pool: every reserved tx
// is admitted, and the pool never exceeds its limit.
func TestReservationsUnderConcurrentFlood(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTxs = 50
	env := newTestEnv(t, cfg)
	for i := range 30 {
		env.checkTx(t, fmt.Sprintf("pre%03d", i))
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		reserved []string
	)
	for i := range 100 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			tx := fmt.Sprintf("rsv%03d", i)
			r, err := env.mp.Reserve(len(tx))
			if err != nil {
				wantErr(t, err, ErrMempoolFull)
				return
			}
			if _, err := r.CheckTx(context.Background(), []byte(tx)); err != nil {
				t.Errorf("reserved tx %s refused: %v", tx, err)
				return
			}
			mu.Lock()
			reserved = append(reserved, tx)
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			_, err := env.mp.CheckTxFrom(context.Background(), []byte(fmt.Sprintf("peer%03d", i)), "p1")
			if err != nil {
				wantErr(t, err, ErrMempoolFull)
			}
		}()
	}
	wg.Wait()
	pooled := make(map[string]bool)
	for _, tx := range strs(env.mp.ReapMaxBytesMaxGas(-1, -1)) {
		pooled[tx] = true
	}
	if len(pooled) != cfg.MaxTxs {
		t.Fatalf("pool holds %d txs after the flood, want it full (%d)", len(pooled), cfg.MaxTxs)
	}
	for _, tx := range reserved {
		if !pooled[tx] {
			t.Errorf("reserved tx %s was admitted but is not in the pool", tx)
		}
	}
	if len(reserved) == 0 {
		t.Fatal("no reservation succeeded")
	}
}
