package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
)

// maxBlockBound is the largest block the node's WAL records and gossip
// frames must hold: block.max_bytes of the genesis or of the stored state,
// whichever is larger. An application that raises block.max_bytes above
// it later gets larger blocks gossiped after the nodes restart.
func maxBlockBound(store *blockstore.Store, genesis blockstore.ConsensusParams) (int64, error) {
	bound := genesis.BlockMaxBytes()
	st, err := store.LoadState()
	switch {
	case err == nil:
		bound = max(bound, st.ConsensusParams.BlockMaxBytes())
	case !errors.Is(err, blockstore.ErrNotFound):
		return 0, fmt.Errorf("read the stored consensus parameters: %w", err)
	}
	return bound, nil
}

// ConsensusParams are the parameters in force at height h, as the state
// that led to h recorded them. A height passed before the store recorded
// parameters by height had the genesis ones: they could not change then.
func (b *backend) ConsensusParams(_ context.Context, h int64) (*tmtypes.ConsensusParams, error) {
	p, err := b.n.store.LoadConsensusParams(h)
	if errors.Is(err, blockstore.ErrNotFound) {
		return genesisParams(b.n.genesis).ToProto(), nil
	}
	if err != nil {
		return nil, err
	}
	return p.ToProto(), nil
}
