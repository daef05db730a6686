package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
)

// BenchmarkCommitHeight measures one committed height of a 4-validator
// network over memnet, with real stores, WALs (fsync) and file signers, no
// commit delay, and 0 or 100 txs per height.
func BenchmarkCommitHeight(b *testing.B) {
	for _, txs := range []int{0, 100} {
		b.Run(fmt.Sprintf("txs=%d", txs), func(b *testing.B) {
			c := newCluster(b, 4, 11)
			c.cfg = func(cfg *engine.Config) { cfg.CommitDelay = 0 }
			c.startAll()
			c.waitHeight(2, 30*time.Second)
			next := 0
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				for range txs {
					tx := fmt.Appendf(nil, "b%d=%d", next, next)
					next++
					if err := c.nodes[next%4].submit(tx); err != nil {
						b.Fatal(err)
					}
				}
				target := c.nodes[0].height() + 1
				b.StartTimer()
				for _, nd := range c.nodes {
					for nd.height() < target {
						time.Sleep(50 * time.Microsecond)
					}
				}
			}
		})
	}
}
