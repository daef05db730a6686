package engine_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// oversizedProposer is the kvstore whose PrepareProposal adds a large tx
// whatever room the request leaves.
type oversizedProposer struct{ *kvstore.App }

var bigTx = append([]byte("big="), bytes.Repeat([]byte{'x'}, 30_000)...)

func (o oversizedProposer) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	resp, err := o.App.PrepareProposal(ctx, req)
	if err == nil {
		resp.Txs = append(resp.Txs, bigTx)
	}
	return resp, err
}

// TestBlockOverMaxBytesRefused: with block.max_bytes 20,000, the blocks a
// validator proposes with a 30,000-byte tx are refused by the others
// (whose ProcessProposal would accept the tx), so no committed block holds
// it or comes from that proposer, and the chain goes on.
func TestBlockOverMaxBytesRefused(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 43)
		c.genesis.ConsensusParams = defaultTestParams()
		c.genesis.ConsensusParams.MaxBlockBytes = 20_000
		big := c.nodes[0]
		big.openApp = func() (app.Application, func() error, error) {
			a, err := kvstore.Open(filepath.Join(big.dir, "app"))
			if err != nil {
				return nil, nil, err
			}
			return oversizedProposer{a}, a.Close, nil
		}
		c.startAll()
		c.awaitHeight(8, 90*time.Second)
		bigAddr := types.AddressOf(big.priv.Public().(ed25519.PublicKey))
		for h := int64(1); h <= 8; h++ {
			b, err := guardedSource{c.nodes[1]}.LoadBlock(h)
			if err != nil {
				t.Fatal(err)
			}
			if b.Header.ProposerAddress == bigAddr {
				t.Errorf("height %d: the oversized proposer's block was committed", h)
			}
			for _, tx := range b.Data.Txs {
				if bytes.Equal(tx, bigTx) {
					t.Errorf("height %d: the block holds the 30,000-byte tx", h)
				}
			}
		}
	})
}
