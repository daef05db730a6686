package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bftnode/bftnode/mempool"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// gatedApp is a mempool.Checker that accepts every tx, but answers for a
// tx starting with "async=" only once its gate is open.
type gatedApp struct{ gate chan struct{} }

func (a gatedApp) CheckTx(ctx context.Context, tx []byte, _ bool) (mempool.CheckResult, error) {
	if !strings.HasPrefix(string(tx), "async=") {
		return mempool.CheckResult{}, nil
	}
	select {
	case <-a.gate:
		return mempool.CheckResult{}, nil
	case <-ctx.Done():
		return mempool.CheckResult{}, ctx.Err()
	}
}

type noneCommitted struct{}

func (noneCommitted) HasTx([32]byte) bool { return false }

// poolBackend is a fakeBackend whose broadcasts go to a real mempool.
type poolBackend struct {
	*fakeBackend
	mp *mempool.Mempool
}

func (b poolBackend) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	_, err := b.mp.CheckTx(ctx, tx)
	return &abci.ResponseCheckTx{}, err
}

func (b poolBackend) ReserveMempool(size int) (MempoolReservation, error) {
	r, err := b.mp.Reserve(size)
	if err != nil {
		return nil, err
	}
	return poolReservation{r}, nil
}

type poolReservation struct{ r *mempool.Reservation }

func (r poolReservation) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	_, err := r.r.CheckTx(ctx, tx)
	return &abci.ResponseCheckTx{}, err
}

func (r poolReservation) Release() { r.r.Release() }

// TestBroadcastTxAsyncNeverLosesAnAnsweredTx floods a nearly full mempool
// with concurrent broadcast_tx_async calls while the application has not
// answered any CheckTx yet: every tx answered OK must end up in the
// mempool, and every other call must be told the mempool is full.
func TestBroadcastTxAsyncNeverLosesAnAnsweredTx(t *testing.T) {
	const maxTxs, prefilled, calls = 20, 15, 60
	app := gatedApp{gate: make(chan struct{})}
	mcfg := mempool.DefaultConfig()
	mcfg.MaxTxs = maxTxs
	mp, err := mempool.New(mcfg, app, noneCommitted{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prefilled {
		if _, err := mp.CheckTx(context.Background(), []byte(fmt.Sprintf("pre=%d", i))); err != nil {
			t.Fatal(err)
		}
	}

	cfg := DefaultConfig()
	cfg.ListenAddress = "tcp://127.0.0.1:0"
	cfg.MaxAsyncBroadcasts = calls // no call waits for a slot
	be := poolBackend{fakeBackend: newFakeBackend(t, 1), mp: mp}
	srv, addr, _ := serve(t, cfg, be)
	c, err := NewClient("http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		answered []string
		refused  int
	)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := fmt.Sprintf("async=%d", i)
			err := c.Call(context.Background(), "broadcast_tx_async", map[string]any{"tx": b64(tx)}, nil)
			mu.Lock()
			defer mu.Unlock()
			var e *Error
			switch {
			case err == nil:
				answered = append(answered, tx)
			case errors.As(err, &e) && strings.Contains(e.Message+e.Data, "mempool is full"):
				refused++
			default:
				t.Errorf("%s: got %v, want OK or a full mempool", tx, err)
			}
		}()
	}
	wg.Wait()
	if len(answered)+refused != calls {
		t.Fatalf("%d answered OK + %d refused, want %d calls", len(answered), refused, calls)
	}
	if len(answered) == 0 {
		t.Fatal("no async tx was answered OK although the mempool had room")
	}

	close(app.gate) // the application answers now
	srv.async.Wait()
	pooled := make(map[string]bool)
	for _, tx := range mp.ReapMaxBytesMaxGas(-1, -1) {
		pooled[string(tx)] = true
	}
	lost := 0
	for _, tx := range answered {
		if !pooled[tx] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d txs answered OK are not in the mempool (%d refused as full)", lost, len(answered), refused)
	}
	if got := mp.Size(); got != maxTxs {
		t.Errorf("mempool holds %d txs, want it full (%d)", got, maxTxs)
	}
}
