package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/rpc"
)

// paramsApp is the kvstore that, in FinalizeBlock of height at, returns
// update as its ConsensusParamUpdates.
type paramsApp struct {
	*kvstore.App
	at     int64
	update *tmtypes.ConsensusParams
}

func (a paramsApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	resp, err := a.App.FinalizeBlock(ctx, req)
	if err == nil && req.Height == a.at {
		resp.ConsensusParamUpdates = a.update
	}
	return resp, err
}

type paramsResult struct {
	BlockHeight     string `json:"block_height"`
	ConsensusParams struct {
		Block struct {
			MaxBytes string `json:"max_bytes"`
		} `json:"block"`
		Evidence struct {
			MaxBytes string `json:"max_bytes"`
		} `json:"evidence"`
		ABCI struct {
			VoteExtensionsEnableHeight string `json:"vote_extensions_enable_height"`
		} `json:"abci"`
	} `json:"consensus_params"`
}

func paramsAt(ctx context.Context, c *rpc.Client, h int64) (paramsResult, error) {
	var p paramsResult
	err := c.Call(ctx, "consensus_params", map[string]any{"height": strconv.FormatInt(h, 10)}, &p)
	return p, err
}

// TestConsensusParamUpdates: an application returns, in FinalizeBlock of
// height 3, a block.max_bytes of 4000 (with evidence.max_bytes 1000, which
// may not exceed it) and a vote extension height of 1000. On every node the
// parameters in force change at height 4, not 3, and consensus_params
// shows them at the height asked; a tx too large for the new blocks is
// not proposed while heights pass. A node
// restarted afterwards resumes with the new parameters (its headers'
// consensus hash agrees with the others', or it could not follow them).
func TestConsensusParamUpdates(t *testing.T) {
	const at = 3
	update := &tmtypes.ConsensusParams{
		Block:    &tmtypes.BlockParams{MaxBytes: 4000, MaxGas: -1},
		Evidence: &tmtypes.EvidenceParams{MaxAgeNumBlocks: 100000, MaxAgeDuration: 48 * time.Hour, MaxBytes: 1000},
		Abci:     &tmtypes.ABCIParams{VoteExtensionsEnableHeight: 1000},
	}
	cfgs := testnet(t, 4, 0)
	stops := make([]func(), len(cfgs))
	for i := range cfgs {
		cfgs[i].ProxyApp = serveApp(t, paramsApp{App: openKVStore(t), at: at, update: update})
		stops[i] = start(t, cfgs[i])
	}
	ctx := context.Background()
	cs := clients(t, cfgs)
	waitFor(t, "every node at height 5", 90*time.Second, func() (bool, error) {
		for _, c := range cs {
			if h, err := height(ctx, c); err != nil || h < at+2 {
				return false, err
			}
		}
		return true, nil
	})
	for i, c := range cs {
		for h, want := range map[int64][3]string{
			at:     {"4194304", "1048576", "0"},
			at + 1: {"4000", "1000", "1000"},
			at + 2: {"4000", "1000", "1000"},
		} {
			p, err := paramsAt(ctx, c, h)
			if err != nil {
				t.Fatalf("node%d consensus_params at %d: %v", i, h, err)
			}
			got := [3]string{p.ConsensusParams.Block.MaxBytes, p.ConsensusParams.Evidence.MaxBytes, p.ConsensusParams.ABCI.VoteExtensionsEnableHeight}
			if got != want || p.BlockHeight != strconv.FormatInt(h, 10) {
				t.Fatalf("node%d consensus_params at %d: height %s, block.max_bytes, evidence.max_bytes, vote extension height %q; want %q",
					i, h, p.BlockHeight, got, want)
			}
		}
	}

	// 4000 - 626 - 11 - 94 - 4*113 leaves 2817 bytes of txs: a 3000-byte
	// tx waits in the mempool while heights pass.
	big := []byte("big=" + strings.Repeat("x", 2996))
	if err := cs[0].Call(ctx, "broadcast_tx_sync", map[string]any{"tx": big}, nil); err != nil {
		t.Fatal(err)
	}
	from, err := height(ctx, cs[0])
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three more heights", 60*time.Second, func() (bool, error) {
		h, err := height(ctx, cs[0])
		return h >= from+3, err
	})
	bigHash := sha256.Sum256(big)
	for i, c := range cs {
		err := c.Call(ctx, "tx", map[string]any{"hash": fmt.Sprintf("%X", bigHash[:])}, nil)
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("node%d: the tx larger than the block's room: %v, want not found", i, err)
		}
	}
	var unconfirmed struct {
		Total string `json:"total"`
	}
	if err := cs[0].Call(ctx, "num_unconfirmed_txs", nil, &unconfirmed); err != nil || unconfirmed.Total != "1" {
		t.Fatalf("num_unconfirmed_txs: %+v, %v; want the large tx still waiting", unconfirmed, err)
	}

	// Node 3 restarts with the parameters it stored and follows the chain.
	stops[3]()
	start(t, cfgs[3])
	h0, err := height(ctx, cs[0])
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node3 back and past node0's height", 60*time.Second, func() (bool, error) {
		h, err := height(ctx, cs[3])
		return h > h0+1, err
	})
	p, err := paramsAt(ctx, cs[3], h0+1)
	if err != nil || p.ConsensusParams.Block.MaxBytes != "4000" {
		t.Fatalf("node3 after its restart: consensus_params at %d: %+v, %v", h0+1, p, err)
	}
}

// initParamsApp is the kvstore whose InitChain returns params.
type initParamsApp struct {
	*kvstore.App
	params *tmtypes.ConsensusParams
}

func (a initParamsApp) InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	resp, err := a.App.InitChain(ctx, req)
	if err == nil {
		resp.ConsensusParams = a.params
	}
	return resp, err
}

// TestInitChainParams: consensus parameters the application returns from
// InitChain replace the genesis ones from the first height, as in
// CometBFT.
func TestInitChainParams(t *testing.T) {
	cfg := testnet(t, 1, 0)[0]
	cfg.ProxyApp = serveApp(t, initParamsApp{App: openKVStore(t), params: &tmtypes.ConsensusParams{
		Block:    &tmtypes.BlockParams{MaxBytes: 123456, MaxGas: 1000},
		Evidence: &tmtypes.EvidenceParams{MaxAgeNumBlocks: 10, MaxAgeDuration: time.Hour, MaxBytes: 1000},
	}})
	start(t, cfg)
	ctx := context.Background()
	c := client(t, cfg)
	waitFor(t, "height 2", 30*time.Second, func() (bool, error) {
		h, err := height(ctx, c)
		return h >= 2, err
	})
	for h := int64(1); h <= 2; h++ {
		p, err := paramsAt(ctx, c, h)
		if err != nil || p.ConsensusParams.Block.MaxBytes != "123456" || p.ConsensusParams.Evidence.MaxBytes != "1000" {
			t.Fatalf("consensus_params at %d: %+v, %v; want block.max_bytes 123456 and evidence.max_bytes 1000 from InitChain", h, p, err)
		}
	}
}

// TestInvalidParamUpdateStopsTheNode: an update that breaks the rules
// (block.max_bytes 0, at height 3) stops the node with an error naming the
// rule and what to do, before block 3 is saved; the node keeps height 2.
func TestInvalidParamUpdateStopsTheNode(t *testing.T) {
	cfg := testnet(t, 1, 0)[0]
	cfg.ProxyApp = serveApp(t, paramsApp{App: openKVStore(t), at: 3,
		update: &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: 0, MaxGas: -1}}})
	n, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the node did not stop on the invalid update")
	}
	for _, want := range []string{"FinalizeBlock returned consensus parameter updates that cannot apply after height 3", "block.max_bytes is 0", "fix the application"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("the node stopped with %v; want it to say %q", err, want)
		}
	}
	store, err := blockstore.Open(cfg.BlockstoreDir(), blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if h := store.Height(); h != 2 {
		t.Fatalf("the store holds blocks up to %d, want 2 (block 3 not saved)", h)
	}
}
