package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/statesync"
)

// TestStateSyncNoSnapshots: a new node with state sync on, among
// validators whose application (the kvstore) serves no snapshots, stops
// after discovery_time with an error that says what to do, unless
// statesync.blocksync_fallback allows block sync from genesis: then it
// block-syncs every height and follows consensus.
func TestStateSyncNoSnapshots(t *testing.T) {
	cfgs := testnet(t, 5, 4)
	fast(cfgs)
	for _, cfg := range cfgs[:4] {
		start(t, cfg)
	}
	c0 := client(t, cfgs[0])
	waitHeight(t, c0, 5, time.Minute)
	var trusted blockResult
	if err := c0.Call(context.Background(), "block", map[string]string{"height": "2"}, &trusted); err != nil {
		t.Fatal(err)
	}
	joiner := cfgs[4]
	ss := &joiner.StateSync
	ss.Enable = true
	ss.RPCServers = cfgs[0].RPC.ListenAddress + "," + cfgs[1].RPC.ListenAddress
	ss.TrustHeight, ss.TrustHash = 2, trusted.BlockID.Hash
	ss.DiscoveryTime = 5 * time.Second

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := New(ctx, joiner, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = n.Run(ctx)
	took := time.Since(began)
	if !errors.Is(err, statesync.ErrNoSnapshots) {
		t.Fatalf("Run returned %v, want ErrNoSnapshots", err)
	}
	if took < ss.DiscoveryTime {
		t.Errorf("gave up after %v, before discovery_time %v", took, ss.DiscoveryTime)
	}
	if !strings.Contains(err.Error(), "blocksync_fallback") {
		t.Errorf("the error does not say how to fall back: %v", err)
	}

	ss.BlockSyncFallback = true
	start(t, joiner)
	cl := client(t, joiner)
	top, err := height(context.Background(), c0)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, cl, top+5, 2*time.Minute)
	var st struct {
		SyncInfo struct {
			EarliestBlockHeight string `json:"earliest_block_height"`
		} `json:"sync_info"`
	}
	if err := cl.Call(context.Background(), "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.SyncInfo.EarliestBlockHeight != "1" {
		t.Errorf("the node block-synced from height %s, want 1 (genesis)", st.SyncInfo.EarliestBlockHeight)
	}
}
