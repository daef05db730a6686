package node

import (
	"fmt"
	"time"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// evidenceChain is the evidence pool's view of the chain: the block
// store's state and history, with the genesis evidence parameters.
type evidenceChain struct {
	store   *blockstore.Store
	genesis *config.GenesisDoc
}

var _ evidence.Chain = evidenceChain{}

// State is the state after the last stored block; before the first one,
// the genesis height and time.
func (c evidenceChain) State() evidence.State {
	p := genesisParams(c.genesis).Evidence
	st := evidence.State{
		ChainID: c.genesis.ChainID,
		Height:  c.genesis.InitialHeight - 1,
		Time:    c.genesis.GenesisTime,
		Params:  evidence.Params{MaxAgeNumBlocks: p.MaxAgeNumBlocks, MaxAgeDuration: p.MaxAgeDuration, MaxBytes: p.MaxBytes},
	}
	if s, err := c.store.LoadState(); err == nil {
		st.Height, st.Time = s.LastBlockHeight, s.LastBlockTime
	}
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

// evidenceGossip is the pool as the source and sink of evidence gossip:
// evidence a peer sends that the pool finds invalid blames the peer.
type evidenceGossip struct{ pool *evidence.Pool }

var _ p2p.EvidenceSource = evidenceGossip{}

func (g evidenceGossip) PendingAfter(after uint64, limit int) p2p.EvidenceBatch {
	b := g.pool.PendingAfter(after, limit)
	return p2p.EvidenceBatch{Evidence: b.Evidence, Next: b.Next, Wait: b.Wait}
}

func (g evidenceGossip) AddFromPeer(ev types.Evidence, from string) error {
	err := g.pool.Add(ev)
	if evidence.Invalid(err) {
		return fmt.Errorf("%w from %s: %w", p2p.ErrInvalidEvidence, from, err)
	}
	return err
}
