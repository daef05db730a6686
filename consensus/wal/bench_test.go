package wal

import (
	"os"
	"slices"
	"testing"
	"time"
)

// benchDir is where benchmarks write: $BFTNODE_BENCH_DIR if set (to measure
// fsync on a chosen disk), else a temporary directory.
func benchDir(b *testing.B) string {
	b.Helper()
	if base := os.Getenv("BFTNODE_BENCH_DIR"); base != "" {
		dir, err := os.MkdirTemp(base, "wal-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// benchLatency runs op b.N times, timing each call, and reports the p50, p99
// and p99.9 latencies next to ns/op (the mean).
func benchLatency(b *testing.B, op func() error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(start)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)*999/1000].Nanoseconds()), "p99.9-ns")
}

func benchWAL(b *testing.B, sync bool) {
	w, err := Open(benchDir(b), Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Close() })
	rec := make([]byte, 250)
	write := w.Write
	if sync {
		write = w.WriteSync
	}
	b.SetBytes(int64(len(rec)))
	benchLatency(b, func() error { return write(kindEvent, rec) })
}

// BenchmarkWrite measures a buffered append of a 250-byte record.
func BenchmarkWrite(b *testing.B) { benchWAL(b, false) }

// BenchmarkWriteSync measures an append of a 250-byte record with fsync.
func BenchmarkWriteSync(b *testing.B) { benchWAL(b, true) }

// benchReopen writes 4000 heights of 2 KiB (about 8 MiB) and measures an
// Open and the replay of the current height, as a restart does.
func benchReopen(b *testing.B, maxFileSize int64) {
	dir := benchDir(b)
	w, err := Open(dir, Options{MaxFileSize: maxFileSize}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec := make([]byte, 500)
	for h := int64(1); h <= 4000; h++ {
		for range 4 {
			if err := w.Write(MinUserKind, rec); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.WriteEndHeight(h); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		w, err := Open(dir, Options{MaxFileSize: maxFileSize}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.ReplayFrom(4001); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReopenUnrotated is the single file of before rotation.
func BenchmarkReopenUnrotated(b *testing.B) { benchReopen(b, -1) }

// BenchmarkReopenRotated1MiB rotates past 1 MiB.
func BenchmarkReopenRotated1MiB(b *testing.B) { benchReopen(b, 1<<20) }
