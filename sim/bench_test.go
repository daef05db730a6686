package sim

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkHeight measures one decided height of a fault-free network of n
// validators, all running the real core over the simulated network (every
// vote signed and verified), in wall time per height.
func BenchmarkHeight(b *testing.B) {
	for _, n := range []int{4, 16, 100} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Validators, cfg.GST, cfg.Partitions, cfg.DropRate = n, 0, false, 0
			cfg.Heights = int64(max(b.N, 1))
			b.ResetTimer()
			r, err := Run(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if r.HeightsDecided != cfg.Heights || len(r.Violations) > 0 {
				b.Fatalf("decided %d of %d heights, violations %v", r.HeightsDecided, cfg.Heights, r.Violations)
			}
		})
	}
}

// BenchmarkStormyRun is one default run (n=4, 20 heights, partitions, drops
// and 2 crashes before GST), the unit of `bftnode sim`; it reports
// simulated heights per second of wall time.
func BenchmarkStormyRun(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Crashes = 2
	start := time.Now()
	var heights int64
	for i := range b.N {
		cfg.Seed = uint64(i + 1)
		r, err := Run(cfg)
		if err != nil {
			b.Fatal(err)
		}
		heights += r.HeightsDecided
	}
	b.ReportMetric(float64(heights)/time.Since(start).Seconds(), "heights/s")
}
