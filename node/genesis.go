package node

import (
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/engine"
)

// maxBlockBytes is the largest block the protocol allows (CometBFT's
// MaxBlockSizeBytes), what a genesis block.max_bytes of -1 means.
const maxBlockBytes = 100 << 20

// engineGenesis converts the genesis document to what the engine starts
// from.
func engineGenesis(g *config.GenesisDoc) (engine.Genesis, error) {
	vals, err := g.ValidatorSet()
	if err != nil {
		return engine.Genesis{}, fmt.Errorf("genesis validators: %w", err)
	}
	params := config.DefaultConsensusParams()
	if g.ConsensusParams != nil {
		params = *g.ConsensusParams
	}
	if params.Block.MaxBytes == -1 {
		params.Block.MaxBytes = maxBlockBytes // "no limit" is the protocol's limit
	}
	return engine.Genesis{
		ChainID:       g.ChainID,
		InitialHeight: g.InitialHeight,
		Time:          g.GenesisTime,
		Validators:    vals,
		AppState:      g.AppState,
		ConsensusParams: blockstore.ConsensusParams{
			MaxBlockBytes:           params.Block.MaxBytes,
			MaxGas:                  params.Block.MaxGas,
			EvidenceMaxAgeNumBlocks: params.Evidence.MaxAgeNumBlocks,
			EvidenceMaxAgeDuration:  params.Evidence.MaxAgeDuration,
		},
	}, nil
}
