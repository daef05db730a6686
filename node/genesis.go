package node

import (
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/engine"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
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
	params := genesisParams(g)
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

// genesisParams are the genesis consensus parameters, CometBFT's defaults
// when it has none.
func genesisParams(g *config.GenesisDoc) config.ConsensusParams {
	if g.ConsensusParams != nil {
		return *g.ConsensusParams
	}
	return config.DefaultConsensusParams()
}

// initChainParams are the genesis consensus parameters as InitChain gives
// them to the application: every group, as CometBFT sends them (apps such
// as CometBFT's e2e app read them), with vote extensions off, which bftnode
// does not run.
func initChainParams(g *config.GenesisDoc) *tmtypes.ConsensusParams {
	p := genesisParams(g)
	return &tmtypes.ConsensusParams{
		Block:     &tmtypes.BlockParams{MaxBytes: p.Block.MaxBytes, MaxGas: p.Block.MaxGas},
		Evidence:  &tmtypes.EvidenceParams{MaxAgeNumBlocks: p.Evidence.MaxAgeNumBlocks, MaxAgeDuration: p.Evidence.MaxAgeDuration, MaxBytes: p.Evidence.MaxBytes},
		Validator: &tmtypes.ValidatorParams{PubKeyTypes: p.Validator.PubKeyTypes},
		Version:   &tmtypes.VersionParams{App: p.Version.App},
		Abci:      &tmtypes.ABCIParams{},
	}
}
