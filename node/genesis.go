package node

import (
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/engine"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
)

// engineGenesis converts the genesis document to what the engine starts
// from.
func engineGenesis(g *config.GenesisDoc) (engine.Genesis, error) {
	vals, err := g.ValidatorSet()
	if err != nil {
		return engine.Genesis{}, fmt.Errorf("genesis validators: %w", err)
	}
	return engine.Genesis{
		ChainID:         g.ChainID,
		InitialHeight:   g.InitialHeight,
		Time:            g.GenesisTime,
		Validators:      vals,
		AppState:        g.AppState,
		ConsensusParams: genesisParams(g),
	}, nil
}

// genesisParams are the genesis consensus parameters, CometBFT's defaults
// when it has none.
func genesisParams(g *config.GenesisDoc) blockstore.ConsensusParams {
	p := config.DefaultConsensusParams()
	if g.ConsensusParams != nil {
		p = *g.ConsensusParams
	}
	return paramsFromConfig(p)
}

// paramsFromConfig converts parameters in CometBFT's JSON shape (a genesis
// file's, or the RPC's consensus_params).
func paramsFromConfig(p config.ConsensusParams) blockstore.ConsensusParams {
	return blockstore.ConsensusParams{
		MaxBlockBytes:              p.Block.MaxBytes,
		MaxGas:                     p.Block.MaxGas,
		EvidenceMaxAgeNumBlocks:    p.Evidence.MaxAgeNumBlocks,
		EvidenceMaxAgeDuration:     p.Evidence.MaxAgeDuration,
		EvidenceMaxBytes:           p.Evidence.MaxBytes,
		PubKeyTypes:                p.Validator.PubKeyTypes,
		AppVersion:                 p.Version.App,
		VoteExtensionsEnableHeight: p.ABCI.VoteExtensionsEnableHeight,
	}
}

// initChainParams are the genesis consensus parameters as InitChain gives
// them to the application: every group, as CometBFT sends them (apps such
// as CometBFT's e2e app read them).
func initChainParams(g *config.GenesisDoc) *tmtypes.ConsensusParams {
	return genesisParams(g).ToProto()
}
