package engine_test

import (
	"fmt"
	"testing"
	"time"
)

// Four engines over memnet, each with kvstore, a Pebble block store, a WAL
// and a file signer on disk, commit 20 heights with txs and agree on every
// block and app hash.
func TestNetworkCommitsIdenticalChain(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 1)
		c.startAll()
		var txs [][]byte
		for i := range 200 {
			tx := fmt.Appendf(nil, "key%03d=value%d", i, i)
			txs = append(txs, tx)
			if err := c.nodes[i%4].submit(tx); err != nil {
				t.Fatal(err)
			}
		}
		c.awaitHeight(20, 60*time.Second)
		await(t, 30*time.Second, "all txs committed everywhere", c.haveTxs(txs))
		if h := c.checkSameChain(); h < 20 {
			t.Fatalf("common height %d, want at least 20", h)
		}
		for _, nd := range c.nodes {
			await(t, 10*time.Second, nd.id+" to announce a height past 20", func() bool { return nd.eng.Position().Height > 20 })
			if r := nd.ep.Reports(); len(r) > 0 {
				t.Errorf("%s reported peers of a correct network: %v", nd.id, r[0])
			}
		}
	})
}
