package mempool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentCheckTxAndUpdate submits every tx many times from many
// goroutines while blocks are reaped and committed and gossip streams the
// pool. With a cache much smaller than the tx set, resubmissions of committed
// txs keep reaching the committed index. Every tx must be committed exactly
// once.
func TestConcurrentCheckTxAndUpdate(t *testing.T) {
	const (
		numTxs     = 600
		submitters = 8
		rounds     = 4 // times each submitter sends every tx
	)
	cfg := DefaultConfig()
	cfg.CacheSize = 32
	env := newTestEnv(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range numTxs {
		if i%10 == 0 {
			env.app.set(fmt.Sprintf("tx-%04d", i), int64(i%3), 1)
		}
	}

	var submitting sync.WaitGroup
	for s := range submitters {
		submitting.Go(func() {
			for r := range rounds {
				for i := range numTxs {
					tx := fmt.Sprintf("tx-%04d", (i*(s+1)+r*7)%numTxs) // each submitter in its own order
					_, err := env.mp.CheckTxFrom(ctx, []byte(tx), fmt.Sprintf("peer-%d", s))
					if err != nil && !errors.Is(err, ErrTxInCache) && !errors.Is(err, ErrTxCommitted) {
						t.Errorf("CheckTx(%s): %v", tx, err)
						return
					}
				}
			}
		})
	}
	submitted := make(chan struct{})
	go func() { submitting.Wait(); close(submitted) }()

	// A gossip routine: sequence numbers must only grow.
	var gossiping sync.WaitGroup
	gossiping.Go(func() {
		var cursor, last uint64
		for {
			b := env.mp.TxsAfter(cursor, "peer-0", 50)
			for _, tx := range b.Txs {
				if tx.Seq <= last {
					t.Errorf("gossip went back: seq %d after %d", tx.Seq, last)
				}
				last = tx.Seq
			}
			cursor = b.Next
			select {
			case <-b.Wait:
			case <-ctx.Done():
				return
			}
		}
	})

	// The consensus side: propose from the pool, commit under Lock, Update.
	deadline := time.Now().Add(30 * time.Second)
	var height int64
	for done := false; !done; {
		select {
		case <-submitted:
			done = env.mp.Size() == 0
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool not drained by the deadline: %d txs left", env.mp.Size())
		}
		block := env.mp.ReapMaxBytesMaxGas(-1, 40)
		height++
		env.mp.Lock()
		if err := env.store.save(height, block); err != nil {
			env.mp.Unlock()
			t.Fatal(err) // a tx in two blocks
		}
		err := env.mp.Update(ctx, height, block, true)
		env.mp.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	gossiping.Wait()

	for i := range numTxs {
		if tx := fmt.Sprintf("tx-%04d", i); !env.store.HasTx(TxHash([]byte(tx))) {
			t.Errorf("%s never committed", tx)
		}
	}
	if env.mp.SizeBytes() != 0 || metricValue(t, env.metrics.Size) != 0 {
		t.Errorf("empty pool: SizeBytes = %d, size metric = %v", env.mp.SizeBytes(), metricValue(t, env.metrics.Size))
	}
	if metricValue(t, env.metrics.AlreadyCommitted) == 0 {
		t.Error("no resubmission reached the committed index; the test lost its point")
	}
}

// blockingApp is a Checker whose CheckTx reports that it started, then waits
// to be released.
type blockingApp struct {
	entered chan string
	release chan struct{}
}

func (a *blockingApp) CheckTx(_ context.Context, tx []byte, _ bool) (CheckResult, error) {
	a.entered <- string(tx)
	<-a.release
	return CheckResult{}, nil
}

// TestAppCheckTxRunsInParallel shows that the application's CheckTx runs
// without the tx-list lock: several at once, while the pool can be read, but
// never while the node holds Lock.
func TestAppCheckTxRunsInParallel(t *testing.T) {
	app := &blockingApp{entered: make(chan string), release: make(chan struct{})}
	mp, err := New(DefaultConfig(), app, newFakeStore(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error)
	for _, tx := range []string{"a", "b"} {
		go func() {
			_, err := mp.CheckTx(context.Background(), []byte(tx))
			errs <- err
		}()
	}
	deadline := time.After(10 * time.Second)
	for range 2 {
		select {
		case <-app.entered:
		case <-deadline:
			t.Fatal("the application never had two CheckTx calls in flight")
		}
	}
	// Both are inside the application: the pool is still readable...
	if mp.Size() != 0 || len(mp.ReapMaxBytesMaxGas(-1, -1)) != 0 || len(mp.TxsAfter(0, "", 0).Txs) != 0 {
		t.Fatal("txs admitted before the application answered")
	}
	// ...but the commit lock is not available until they return.
	if mp.updateMtx.TryLock() {
		t.Fatal("Lock could be taken during CheckTx")
	}
	close(app.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	mp.Lock()
	if mp.Size() != 2 {
		t.Errorf("Size = %d, want 2", mp.Size())
	}
	mp.Unlock()
}
