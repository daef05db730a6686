package node

import (
	"context"
	"fmt"
	"testing"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/mempool"
)

// BenchmarkMempoolCheckTx admits 250-byte kvstore txs to the mempool the
// way the node does (CheckTx through the application connection), with the
// kvstore in-process and over the ABCI socket, from parallel submitters.
func BenchmarkMempoolCheckTx(b *testing.B) {
	for _, mode := range []string{"inprocess", "socket"} {
		b.Run(mode, func(b *testing.B) {
			kv := openKVStore(b)
			var a app.Application = kv
			if mode == "socket" {
				url := serveApp(b, kv)
				c, err := abcisocket.Dial(context.Background(), url, abcisocket.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				a = c
			}
			cfg := mempool.DefaultConfig()
			cfg.MaxTxs, cfg.CacheSize = b.N+1, b.N+1
			mp, err := mempool.New(cfg, engine.MempoolChecker(a), noneCommitted{}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			txs := make([][]byte, b.N)
			for i := range txs {
				tx := fmt.Appendf(nil, "k%012d=", i)
				for len(tx) < 250 {
					tx = append(tx, 'v')
				}
				txs[i] = tx
			}
			ctx := context.Background()
			next := make(chan []byte, len(txs))
			for _, tx := range txs {
				next <- tx
			}
			close(next)
			b.SetBytes(250)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := mp.CheckTx(ctx, <-next); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txs/s")
		})
	}
}

type noneCommitted struct{}

func (noneCommitted) HasTx([32]byte) bool { return false }
