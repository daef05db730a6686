package node

import (
	"context"
	"flag"
	"testing"
	"time"
)

// An idle network of four validators with no commit delay keeps its nodes
// within a height or two of each other; those are finished by consensus
// gossip (the commit's precommits and the block's parts), so no node ever
// needs block sync (p2p.Config.SyncLag). It used to start block sync
// dozens of times per node in 30 s, one height behind each time.
// idleSpan is how long TestIdleNetworkNeverBlockSyncs watches the network:
// 15 s in the suite, 60 s for issue 16's figure (-idle-span 60s).
var idleSpan = flag.Duration("idle-span", 15*time.Second, "how long TestIdleNetworkNeverBlockSyncs watches the idle network")

func TestIdleNetworkNeverBlockSyncs(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	for i := range cfgs {
		cfgs[i].Consensus.TimeoutCommit = 0
		cfgs[i].Consensus.SkipTimeoutCommit = true
	}
	nodes := make([]*Node, len(cfgs))
	for i, cfg := range cfgs {
		nodes[i], _ = startNode(t, cfg)
	}
	ctx := context.Background()
	c0 := client(t, cfgs[0])
	waitHeight(t, c0, 3, time.Minute)
	h0, err := height(ctx, c0)
	if err != nil {
		t.Fatal(err)
	}
	span := *idleSpan
	began := time.Now()
	waitFor(t, "the measured span", span+time.Minute, func() (bool, error) { return time.Since(began) >= span, nil })
	h1, err := height(ctx, c0)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(began)
	var starts uint64
	for i, n := range nodes {
		s := n.transport.Stats()
		starts += s.SyncStarts
		t.Logf("node%d: block sync started %d times, %d blocks synced", i, s.SyncStarts, s.SyncedBlocks)
	}
	t.Logf("%d heights in %v: %.1f heights/s", h1-h0, elapsed.Round(time.Millisecond), float64(h1-h0)/elapsed.Seconds())
	if starts != 0 {
		t.Fatalf("an idle network started block sync %d times", starts)
	}
}
