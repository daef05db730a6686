package p2p

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// A block sync answer for a height this node has already decided is
// compared with the block it decided: a different block that carries a
// commit is, if the commit holds, proof that validators signed two blocks
// at one height, and becomes light client attack evidence for the pool.

// errCannotJudge says why a conflicting block could not be made evidence.
var errCannotJudge = errors.New("p2p: cannot build evidence of a conflicting block")

// conflictEvidence is the light client attack that m, a peer's block and
// commit at a height src has decided, proves. Nil for the block src has.
// The conflicting block's validator set is taken to be src's at its
// height (block sync carries no set), so one whose header names another
// set cannot be judged. A block that agrees with src's on everything the
// state decides is an equivocation (or amnesia), judged at its own height;
// one that does not, but follows the same block, is a lunatic attack
// judged from the height below. The evidence needs the canonical commit of
// the height (in the next block), so the latest height cannot be judged
// yet. The commits are checked by the pool, not here.
func conflictEvidence(src msgs.BlockSource, vals ValidatorSource, m msgs.CommitMsg) (*types.LightClientAttackEvidence, error) {
	h := m.Block.Header.Height
	ours, err := src.LoadBlock(h)
	if err != nil {
		return nil, fmt.Errorf("%w at height %d: %w", errCannotJudge, h, err)
	}
	if ours.Hash() == m.Block.Hash() {
		return nil, nil
	}
	set, err := vals.LoadValidators(h)
	if err != nil {
		return nil, fmt.Errorf("%w at height %d: %w", errCannotJudge, h, err)
	}
	if m.Block.Header.ValidatorsHash != set.Hash() {
		return nil, fmt.Errorf("%w at height %d: it names another validator set", errCannotJudge, h)
	}
	commit, err := src.LoadBlockCommit(h)
	if err != nil {
		return nil, fmt.Errorf("%w at height %d: its canonical commit is not in a block yet: %w", errCannotJudge, h, err)
	}
	conflicting := &types.LightBlock{SignedHeader: types.SignedHeader{Header: &m.Block.Header, Commit: m.Commit}, ValidatorSet: set}
	trusted := &types.LightBlock{SignedHeader: types.SignedHeader{Header: &ours.Header, Commit: commit}, ValidatorSet: set}
	common := trusted
	probe := &types.LightClientAttackEvidence{ConflictingBlock: conflicting}
	if probe.ConflictingHeaderIsInvalid(&ours.Header) {
		if h <= 1 || m.Block.Header.LastBlockID != ours.Header.LastBlockID {
			return nil, fmt.Errorf("%w at height %d: it differs in its state and does not follow this node's block %d", errCannotJudge, h, h-1)
		}
		below, err := src.LoadBlock(h - 1)
		if err != nil {
			return nil, fmt.Errorf("%w at height %d: %w", errCannotJudge, h, err)
		}
		belowSet, err := vals.LoadValidators(h - 1)
		if err != nil {
			return nil, fmt.Errorf("%w at height %d: %w", errCannotJudge, h, err)
		}
		common = &types.LightBlock{SignedHeader: types.SignedHeader{Header: &below.Header, Commit: ours.LastCommit}, ValidatorSet: belowSet}
	}
	return types.NewLightClientAttackEvidence(conflicting, trusted, common), nil
}

// checkDecided gives the evidence pool the attack that a synced block of
// an already decided height proves. The pool verifies it; a block whose
// evidence is invalid (its commit is forged) costs the peer that served it.
func (t *Transport) checkDecided(p peer.ID, m msgs.CommitMsg) {
	if t.cfg.EvidenceSource == nil || t.cfg.Source == nil || t.cfg.Validators == nil {
		return
	}
	ev, err := conflictEvidence(t.cfg.Source, t.cfg.Validators, m)
	if err != nil {
		t.log.Warn("block sync: a peer served a block that differs from this node's", "peer", p, "height", m.Block.Header.Height, "err", err)
		return
	}
	if ev == nil {
		return
	}
	if err := t.cfg.EvidenceSource.AddFromPeer(ev, p.String()); err != nil {
		if errors.Is(err, ErrInvalidEvidence) {
			t.penalize(p, penaltyInvalid, fmt.Errorf("served a conflicting block at height %d whose commit does not hold: %w", m.Block.Header.Height, err))
			return
		}
		t.log.Warn("block sync: the evidence of a conflicting block was not kept", "peer", p, "height", m.Block.Header.Height, "err", err)
		return
	}
	t.log.Error("block sync: validators signed a block that conflicts with this node's; evidence added to the pool",
		"peer", p, "height", m.Block.Header.Height, "evidence", ev.String())
}
