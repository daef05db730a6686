package interop

import (
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
)

// TestCometE2EAppParamUpdate: CometBFT's end-to-end application, told to
// move the vote extension height to 1000 at height 4 (its
// vote_extensions_update_height), returns that ConsensusParamUpdates from
// FinalizeBlock of height 4. Every bftnode node has it in force from height
// 5, not before, and /consensus_params (decoded and validated by
// CometBFT's own types) shows it at each height; the header's consensus
// hash is what CometBFT computes from the parameters served.
func TestCometE2EAppParamUpdate(t *testing.T) {
	const updateAt, enableAt = 4, 1000
	nw := appNetwork(t, func(int) abci.Application {
		cfg := e2eapp.DefaultConfig(t.TempDir())
		cfg.VoteExtensionsUpdateHeight, cfg.VoteExtensionsEnableHeight = updateAt, enableAt
		app, err := e2eapp.NewApplication(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	})
	nw.waitHeight(updateAt+3, 2*time.Minute)
	for i := range nw.nodes {
		for h := int64(updateAt - 1); h <= updateAt+2; h++ {
			var rp coretypes.ResultConsensusParams
			cmtGet(t, nw.nodes[i].RPC(), "consensus_params", fmt.Sprintf("height=%d", h), &rp)
			want := int64(0)
			if h > updateAt {
				want = enableAt
			}
			if rp.BlockHeight != h || rp.ConsensusParams.ABCI.VoteExtensionsEnableHeight != want {
				t.Errorf("%s: consensus_params at %d: height %d, vote extensions from %d; want %d",
					nw.nodes[i].name, h, rp.BlockHeight, rp.ConsensusParams.ABCI.VoteExtensionsEnableHeight, want)
			}
			if err := rp.ConsensusParams.ValidateBasic(); err != nil {
				t.Errorf("%s: consensus_params at %d fail CometBFT's ValidateBasic: %v", nw.nodes[i].name, h, err)
			}
			var rb coretypes.ResultBlock
			cmtGet(t, nw.nodes[i].RPC(), "block", fmt.Sprintf("height=%d", h), &rb)
			if got := rp.ConsensusParams.Hash(); string(got) != string(rb.Block.ConsensusHash) {
				t.Errorf("%s: height %d: CometBFT hashes the parameters to %X, the header says %X", nw.nodes[i].name, h, got, rb.Block.ConsensusHash)
			}
		}
	}
}
