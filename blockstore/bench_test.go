package blockstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Benchmarks run on a temporary directory, so every save pays a real fsync.
// Besides ns/op they report the median and 99th percentile of single
// operations.

// timings records how long each operation took.
type timings []time.Duration

func (ts *timings) time(f func()) {
	start := time.Now()
	f()
	*ts = append(*ts, time.Since(start))
}

func (ts timings) report(b *testing.B) {
	if len(ts) == 0 {
		return
	}
	slices.Sort(ts)
	b.ReportMetric(float64(ts[len(ts)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(ts[len(ts)*99/100].Nanoseconds()), "p99-ns")
}

func BenchmarkSaveBlock1000Txs(b *testing.B) {
	s := backend{dir: b.TempDir()}.open(b)
	c := newChain(b, 1000, 250)
	ts := make(timings, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		block, id, seen := c.next()
		b.StartTimer()
		ts.time(func() {
			if err := s.SaveBlock(block, id, seen); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.StopTimer()
	ts.report(b)
}

// loadBench saves 100 blocks of 1,000 txs of 250 bytes, then times load
// on random heights among them.
func loadBench(b *testing.B, load func(s *Store, sv saved) error) {
	s := backend{dir: b.TempDir()}.open(b)
	blocks := saveBlocks(b, s, newChain(b, 1000, 250), 100)
	rng := rand.New(rand.NewPCG(1, 2))
	ts := make(timings, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sv := blocks[rng.IntN(len(blocks))]
		ts.time(func() {
			if err := load(s, sv); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.StopTimer()
	ts.report(b)
}

func BenchmarkLoadBlockByHeight(b *testing.B) {
	loadBench(b, func(s *Store, sv saved) error { return second(s.LoadBlock(sv.block.Header.Height)) })
}

func BenchmarkLoadBlockByHash(b *testing.B) {
	loadBench(b, func(s *Store, sv saved) error { return second(s.LoadBlockByHash(sv.id.Hash)) })
}

// hasTxBench saves 100 blocks of 1,000 txs of 250 bytes (100,000 txs)
// and compacts them, so that no background work runs during the timing,
// then times HasTx on hashes that are committed (present) or not.
func hasTxBench(b *testing.B, present bool) {
	s := backend{dir: b.TempDir()}.open(b)
	blocks := saveBlocks(b, s, newChain(b, 1000, 250), 100)
	if err := s.db.Compact(context.Background(), []byte{0}, []byte{0xFF}, false); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	hashes := make([][32]byte, 4096)
	for i := range hashes {
		if present {
			txs := blocks[rng.IntN(len(blocks))].block.Data.Txs
			hashes[i] = sha256.Sum256(txs[rng.IntN(len(txs))])
		} else {
			binary.BigEndian.PutUint64(hashes[i][:], rng.Uint64())
			binary.BigEndian.PutUint64(hashes[i][8:], rng.Uint64())
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if s.HasTx(hashes[i%len(hashes)]) != present {
			b.Fatalf("HasTx = %v, want %v", !present, present)
		}
	}
}

// BenchmarkHasTxAbsent is the mempool's common case: a new tx.
func BenchmarkHasTxAbsent(b *testing.B) { hasTxBench(b, false) }

func BenchmarkHasTxPresent(b *testing.B) { hasTxBench(b, true) }
