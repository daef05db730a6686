package node

import (
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/engine"
)

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
