package node

import (
	"time"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/types"
)

// evidenceChain is the evidence pool's view of the chain: the block
// store's state and history, with the genesis evidence parameters.
type evidenceChain struct {
	store   *blockstore.Store
	genesis *config.GenesisDoc
}

var _ evidence.Chain = evidenceChain{}

// State is the state after the last stored block, with the evidence
// parameters in force for the next; before the first one, the genesis
// height, time and parameters.
func (c evidenceChain) State() evidence.State {
	p := genesisParams(c.genesis)
	st := evidence.State{
		ChainID: c.genesis.ChainID,
		Height:  c.genesis.InitialHeight - 1,
		Time:    c.genesis.GenesisTime,
	}
	if s, err := c.store.LoadState(); err == nil {
		st.Height, st.Time, p = s.LastBlockHeight, s.LastBlockTime, s.ConsensusParams
	}
	st.Params = evidence.Params{MaxAgeNumBlocks: p.EvidenceMaxAgeNumBlocks, MaxAgeDuration: p.EvidenceMaxAgeDuration, MaxBytes: p.EvidenceMaxBytes}
	return st
}

func (c evidenceChain) ValidatorsAt(height int64) (*types.ValidatorSet, error) {
	return c.store.LoadValidators(height)
}

func (c evidenceChain) BlockTimeAt(height int64) (time.Time, error) {
	m, err := c.store.LoadBlockMeta(height)
	if err != nil {
		return time.Time{}, err
	}
	return m.Header.Time, nil
}
