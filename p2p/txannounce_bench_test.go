package p2p

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// BenchmarkTxGossipMesh gossips 250-byte txs over a full mesh of 4
// transports in this process (loopback TCP, Noise, yamux), each pool fed
// by a pump as a node feeds its mempool, on /bftnode/tx/1 and on
// /bftnode/tx/2. The txs are admitted round robin at the 4 nodes, in
// rounds of 1,000; a round ends once every pool holds its txs and, on
// /bftnode/tx/2, once the relays' announcements (at least 3 per tx) have
// arrived (on /bftnode/tx/1 the round lasts as long), and is then
// committed in every pool. One op is one tx in all 4 pools; cpu-ns/op is the CPU of the
// whole process (4 nodes' gossip and pools), wire-B/op the tx gossip
// bytes received by the 4 nodes.
func BenchmarkTxGossipMesh(b *testing.B) {
	for _, v1 := range []bool{true, false} {
		b.Run(fmt.Sprintf("v1=%v", v1), func(b *testing.B) {
			const round, nodesN, relayDelay = 1000, 4, 50 * time.Millisecond
			nodes := make([]*txNode, nodesN)
			for i := range nodes {
				nodes[i] = &txNode{pool: newAnnouncePool(b)}
				nodes[i].tr = startTestNode(b, buildTestNode(b, func(c *Config) {
					txConfig(c, nodes[i].pool, v1, relayDelay)
					if i > 0 {
						c.BootstrapPeers = []string{nodes[0].tr.Addrs()[0]}
					}
				}))
				pumpTxs(b, nodes[i])
			}
			poll := func(what string, cond func() bool) {
				for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						b.Fatalf("timed out waiting for %s", what)
					}
				}
			}
			poll("a full mesh", func() bool {
				for _, n := range nodes {
					if len(n.tr.Peers()) != nodesN-1 {
						return false
					}
				}
				return true
			})
			announced := func() (sum int64) {
				for _, n := range nodes {
					sum += n.pool.announced.Load()
				}
				return sum
			}
			wire := func() (sum uint64) {
				for _, n := range nodes {
					sum += n.tr.Stats().Received[KindTx].Bytes
				}
				return sum
			}
			ctx := context.Background()
			txs := make([][]byte, round)
			for i := range txs {
				txs[i] = make([]byte, 250)
			}
			b.SetBytes(250)
			cpu0, wire0 := cpuTime(b), wire()
			n := 0
			for b.Loop() {
				if n%round == 0 { // fresh txs
					for i, tx := range txs {
						binary.BigEndian.PutUint64(tx, uint64(n+i))
					}
				}
				if _, err := nodes[n%nodesN].pool.CheckTx(ctx, txs[n%round]); err != nil {
					b.Fatal(err)
				}
				last := time.Now()
				if n++; n%round == 0 {
					poll("every pool to hold the round", func() bool {
						for _, nd := range nodes {
							if nd.pool.Size() != round {
								return false
							}
						}
						return true
					})
					if !v1 {
						want := announced() + 3*round
						poll("the announcements", func() bool { return announced() >= want })
					} else {
						// The same wall time per round as on /bftnode/tx/2,
						// so both pay the same idle CPU (timers, GC).
						time.Sleep(time.Until(last.Add(relayDelay)))
					}
					// Commit the round, as a block would: stray copies
					// still on the wire are then refused by the caches.
					for _, nd := range nodes {
						nd.pool.Lock()
						err := nd.pool.Update(ctx, int64(n/round), txs, false)
						nd.pool.Unlock()
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/op")
			b.ReportMetric(float64(wire()-wire0)/float64(n), "wire-B/op")
		})
	}
}
