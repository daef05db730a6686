package p2p

import (
	"context"
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"github.com/bftnode/bftnode/mempool"
)

// benchTransport starts a test node (see buildTestNode) with src as its
// TxSource and pex at its default interval, as a node runs, and stops it
// at the end of the benchmark.
func benchTransport(b *testing.B, src TxSource) *Transport {
	b.Helper()
	return startTestNode(b, buildTestNode(b, func(c *Config) {
		c.TxSource = src
		c.PexInterval = 0 // the default
	}))
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTxGossip sends 250-byte txs from one transport's pool to a
// peer over loopback (TCP, Noise, yamux), in rounds of 1,000 txs admitted
// one by one while gossip runs, each round fresh txs. One op is one tx delivered; cpu-ns/op is
// the CPU of both ends (and the pool), which the benchmark shares with
// nothing else.
func BenchmarkTxGossip(b *testing.B) {
	const round = 1000
	mp, err := mempool.New(mempool.DefaultConfig(), acceptTxs{}, noneCommitted{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	from := benchTransport(b, mp)
	to := benchTransport(b, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := to.host.Connect(ctx, addrInfo(from)); err != nil {
		b.Fatal(err)
	}
	txs := make([][]byte, round)
	for i := range txs {
		txs[i] = make([]byte, 250)
	}
	b.SetBytes(250)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	n := 0
	for b.Loop() {
		if n%round == 0 { // fresh txs
			b.StopTimer()
			mp.Flush()
			for i, tx := range txs {
				binary.BigEndian.PutUint64(tx, uint64(n+i))
			}
			b.StartTimer()
		}
		if _, err := mp.CheckTx(ctx, txs[n%round]); err != nil {
			b.Fatal(err)
		}
		if n++; n%round == 0 {
			for got := 0; got < round; {
				select {
				case in := <-to.Txs():
					got += len(in.Txs)
				case <-ctx.Done():
					b.Fatalf("got %d of %d txs", got, round)
				}
			}
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/op")
}
