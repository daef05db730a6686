package mempool

import (
	"context"
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// reportCPU reports the CPU time (user and system) the process used per op
// from now until the benchmark ends: on a shared machine it varies less
// than ns/op, which counts the time other processes run.
func reportCPU(b *testing.B) {
	b.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	b.Cleanup(func() { b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op") })
}

// benchTxs returns n distinct txs of size bytes.
func benchTxs(n, size int) [][]byte {
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = make([]byte, size)
		binary.BigEndian.PutUint64(txs[i], uint64(i))
	}
	return txs
}

// acceptAll is a Checker that accepts every tx, as cheaply as possible.
type acceptAll struct{}

func (acceptAll) CheckTx(context.Context, []byte, bool) (CheckResult, error) {
	return CheckResult{}, nil
}

// benchPool is a mempool with room for n txs that checks them with c.
func benchPool(b *testing.B, c Checker, n int) *Mempool {
	b.Helper()
	cfg := DefaultConfig()
	cfg.MaxTxs = n
	mp, err := New(cfg, c, newFakeStore(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return mp
}

// benchAdmit measures admit, one op per new 250-byte tx, into a pool that
// accepts every tx. Every batch of 10,000 the pool and cache are flushed,
// outside the timer, so the txs can be reused.
func benchAdmit(b *testing.B, admit func(ctx context.Context, mp *Mempool, tx []byte)) {
	const batch = 10000
	txs := benchTxs(batch, 250)
	mp := benchPool(b, acceptAll{}, batch)
	ctx := context.Background()
	b.SetBytes(250)
	b.ReportAllocs()
	reportCPU(b)
	for i := 0; b.Loop(); i++ {
		if i == batch {
			b.StopTimer()
			mp.Flush()
			i = 0
			b.StartTimer()
		}
		admit(ctx, mp, txs[i])
	}
}

// BenchmarkCheckTx admits new txs (see benchAdmit).
func BenchmarkCheckTx(b *testing.B) {
	benchAdmit(b, func(ctx context.Context, mp *Mempool, tx []byte) {
		if _, err := mp.CheckTx(ctx, tx); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCheckTxFromPeers admits txs (see benchAdmit) as tx gossip in a
// 4-validator network does: each tx arrives from the three peers, so one
// call in three admits it and two find it already seen. One op is one tx
// (three calls).
func BenchmarkCheckTxFromPeers(b *testing.B) {
	peers := []string{"12D3KooWPeerA", "12D3KooWPeerB", "12D3KooWPeerC"}
	benchAdmit(b, func(ctx context.Context, mp *Mempool, tx []byte) {
		for j, p := range peers {
			if _, err := mp.CheckTxFrom(ctx, tx, p); (err == nil) != (j == 0) {
				b.Fatalf("from peer %d: %v", j, err)
			}
		}
	})
}

// BenchmarkReap10k reaps a pool of 10,000 250-byte txs with no limit, in
// arrival order and by priority.
func BenchmarkReap10k(b *testing.B) {
	for _, bc := range []struct {
		name     string
		priority func(i int) int64
	}{
		{"fifo", func(int) int64 { return 0 }},
		{"priority", func(i int) int64 { return int64(i*7919) % 100 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 10000
			app := newFakeApp()
			txs := benchTxs(n, 250)
			for i, tx := range txs {
				app.set(string(tx), bc.priority(i), 1)
			}
			mp := benchPool(b, app, n)
			for _, tx := range txs {
				if _, err := mp.CheckTx(context.Background(), tx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := mp.ReapMaxBytesMaxGas(-1, -1); len(got) != n {
					b.Fatalf("reaped %d txs, want %d", len(got), n)
				}
			}
		})
	}
}

// BenchmarkUpdateRecheck commits a block of a tenth of the pool and
// rechecks the rest, for pools of 1,000 and 10,000 txs: the cost per pool
// tx (ns/op over the pool size) must not grow with the pool.
func BenchmarkUpdateRecheck(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			txs := benchTxs(n, 250)
			mp := benchPool(b, acceptAll{}, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				mp.Flush()
				for _, tx := range txs {
					if _, err := mp.CheckTx(ctx, tx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				mp.Lock()
				err := mp.Update(ctx, 1, txs[:n/10], true)
				mp.Unlock()
				if err != nil || mp.Size() != n-n/10 {
					b.Fatalf("Update: %v, %d txs left", err, mp.Size())
				}
			}
		})
	}
}
