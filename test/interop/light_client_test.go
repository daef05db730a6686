package interop

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	httpprovider "github.com/cometbft/cometbft/light/provider/http"
	dbs "github.com/cometbft/cometbft/light/store/db"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
)

// TestLightClientVerifiesBftnodeChain points CometBFT's light client (its
// HTTP provider, an in-memory store) at a 4-validator bftnode network:
// node0 as the primary, node1 and node2 as witnesses. Trusting the first
// header, it verifies the chain up to the tip height by height
// (sequential verification) and, with a fresh store, by skipping (the
// default trust level); every header it trusts is the one bftnode reports.
func TestLightClientVerifiesBftnodeChain(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	for i := range 6 {
		broadcastTx(t, nw.nodes[i%4].RPC(), fmt.Sprintf("light-key-%d=value-%d", i, i))
	}
	const tip = 10
	nw.waitHeight(tip, 2*time.Minute)

	// The block IDs bftnode reports, to compare with what the client trusts.
	ids := make(map[int64][]byte, tip)
	for h := int64(1); h <= tip; h++ {
		var rb coretypes.ResultBlock
		cmtGet(t, nw.nodes[3].RPC(), "block", fmt.Sprintf("height=%d", h), &rb)
		ids[h] = rb.BlockID.Hash
	}

	for _, mode := range []struct {
		name    string
		opt     light.Option
		targets []int64 // heights to verify, in turn
	}{
		// Sequential: every height, each verified from the one before it.
		{"sequential", light.SequentialVerification(), []int64{2, 3, 4, 5, 6, 7, 8, 9, 10}},
		// Skipping: the tip straight from the first header.
		{"skipping", light.SkippingVerification(light.DefaultTrustLevel), []int64{tip}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			primary := lightProvider(t, nw, 0)
			witnesses := []provider.Provider{lightProvider(t, nw, 1), lightProvider(t, nw, 2)}
			c, err := light.NewClient(ctx, nw.chainID,
				light.TrustOptions{Period: time.Hour, Height: 1, Hash: ids[1]},
				primary, witnesses, dbs.New(dbm.NewMemDB(), "bftnode"),
				mode.opt, light.Logger(log.NewNopLogger()))
			if err != nil {
				t.Fatalf("light.NewClient trusting bftnode's first header: %v", err)
			}
			for _, h := range mode.targets {
				lb, err := c.VerifyLightBlockAtHeight(ctx, h, time.Now())
				if err != nil {
					t.Fatalf("the light client does not verify height %d: %v", h, err)
				}
				if !bytes.Equal(lb.Hash(), ids[h]) {
					t.Fatalf("the light client verified %X at height %d, bftnode's block is %X", lb.Hash(), h, ids[h])
				}
			}
			if first, err := c.FirstTrustedHeight(); err != nil || first != 1 {
				t.Fatalf("first trusted height %d (%v), want 1", first, err)
			}
			if last, err := c.LastTrustedHeight(); err != nil || last != tip {
				t.Fatalf("last trusted height %d (%v), want %d", last, err, tip)
			}
		})
	}
}

// lightProvider is CometBFT's HTTP light-block provider for node i.
func lightProvider(t *testing.T, nw *network, i int) provider.Provider {
	t.Helper()
	p, err := httpprovider.New(nw.chainID, nw.nodes[i].RPC())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
