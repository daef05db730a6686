package types

import (
	"bytes"
	"fmt"
	"slices"
)

// The judgement of a light client attack, as CometBFT v0.40.0 makes it
// (its evidence/verify.go and types/evidence.go): which kind of attack a
// conflicting block is, who the byzantine validators are, and whether the
// evidence proves it against the chain's own headers.

// ConflictingHeaderIsInvalid reports whether the conflicting header could
// not have come out of the chain's state at its height, which trusted (the
// chain's header at that height) records: its validators, next validators,
// consensus parameters, app hash or last results differ. Such a block is
// a lunatic attack; one that agrees on all of them is an equivocation (the
// commits are of one round) or an amnesia attack (of different rounds).
func (e *LightClientAttackEvidence) ConflictingHeaderIsInvalid(trusted *Header) bool {
	c := e.ConflictingBlock.Header
	return c.ValidatorsHash != trusted.ValidatorsHash || c.NextValidatorsHash != trusted.NextValidatorsHash ||
		c.ConsensusHash != trusted.ConsensusHash || !bytes.Equal(c.AppHash, trusted.AppHash) ||
		c.LastResultsHash != trusted.LastResultsHash
}

// AccusedValidators is the list of byzantine validators the evidence
// must carry, ordered by voting power (then address): for a lunatic
// attack, the validators of common (the set at the common height) that
// signed the conflicting block; for an equivocation, the validators that
// signed both the conflicting block and trusted (the chain's block at the
// same height, whose set is the same); for amnesia, none.
func (e *LightClientAttackEvidence) AccusedValidators(common *ValidatorSet, trusted *SignedHeader) []*Validator {
	lb := e.ConflictingBlock
	var out []*Validator
	switch {
	case e.ConflictingHeaderIsInvalid(trusted.Header):
		for _, sig := range lb.Commit.Signatures {
			if sig.Flag != BlockIDFlagCommit {
				continue
			}
			if _, v := common.ByAddress(sig.ValidatorAddress); v != nil {
				out = append(out, v)
			}
		}
	case trusted.Commit.Round == lb.Commit.Round:
		for i, sig := range lb.Commit.Signatures {
			if sig.Flag != BlockIDFlagCommit || i >= len(trusted.Commit.Signatures) || trusted.Commit.Signatures[i].Flag != BlockIDFlagCommit {
				continue
			}
			if _, v := lb.ValidatorSet.ByAddress(sig.ValidatorAddress); v != nil {
				out = append(out, v)
			}
		}
	}
	slices.SortFunc(out, byVotingPower)
	return out
}

// NewLightClientAttackEvidence is the evidence that conflicting attacks the
// chain: trusted is the chain's light block at the conflicting block's
// height and common the last one both agree on (the light client's
// trusted block the two traces share). A lunatic attack is dated at common;
// an equivocation or amnesia at trusted, whose set signed both blocks.
func NewLightClientAttackEvidence(conflicting, trusted, common *LightBlock) *LightClientAttackEvidence {
	e := &LightClientAttackEvidence{ConflictingBlock: conflicting}
	at := trusted
	if e.ConflictingHeaderIsInvalid(trusted.Header) {
		at = common
	}
	e.CommonHeight, e.Timestamp, e.TotalVotingPower = at.Header.Height, at.Header.Time, at.ValidatorSet.TotalVotingPower()
	e.ByzantineValidators = e.AccusedValidators(common.ValidatorSet, &trusted.SignedHeader)
	return e
}

// Verify checks the evidence against the chain: common is the chain's
// signed header at the common height and commonVals its validator set;
// trusted is the chain's signed header at the conflicting block's height
// (or, for a conflicting block above the chain, its latest). It checks, as
// CometBFT does: for a lunatic attack (common height below the conflicting
// block's) that validators of commonVals holding more than 1/3 of its power
// signed the conflicting block, else that the conflicting header agrees
// with trusted on everything the state decides; that more than 2/3 of the
// conflicting block's set signed it; every signature of both checks; the
// total voting power; that the block conflicts (another hash than trusted,
// or a block above the chain dated no later than its latest); and the
// byzantine validators. Call ValidateBasic first, and check the age apart.
func (e *LightClientAttackEvidence) Verify(chainID string, common, trusted *SignedHeader, commonVals *ValidatorSet) error {
	lb := e.ConflictingBlock
	h := lb.Header.Height
	if common.Header.Height != h {
		power, err := commitPower(chainID, commonVals, lb.Commit, false)
		if err != nil {
			return fmt.Errorf("conflicting block at height %d: %w", h, err)
		}
		if total := commonVals.TotalVotingPower(); power*3 <= total {
			return fmt.Errorf("%w: validators of height %d holding %d of its %d voting power signed the conflicting block at height %d; more than 1/3 must",
				ErrInvalidEvidence, common.Header.Height, power, total, h)
		}
	} else if e.ConflictingHeaderIsInvalid(trusted.Header) {
		return fmt.Errorf("%w: the conflicting block is at the common height %d but its validators, params, app hash or results differ from the chain's: a lunatic attack needs an earlier common height",
			ErrInvalidEvidence, h)
	}
	if len(lb.Commit.Signatures) != lb.ValidatorSet.Size() {
		return fmt.Errorf("%w: the conflicting commit has %d signatures for %d validators", ErrInvalidEvidence, len(lb.Commit.Signatures), lb.ValidatorSet.Size())
	}
	power, err := commitPower(chainID, lb.ValidatorSet, lb.Commit, true)
	if err != nil {
		return fmt.Errorf("conflicting block at height %d: %w", h, err)
	}
	if total := lb.ValidatorSet.TotalVotingPower(); power*3 <= total*2 {
		return fmt.Errorf("%w: the conflicting block at height %d is signed by %d of its set's %d voting power; more than 2/3 must", ErrInvalidEvidence, h, power, total)
	}
	if total := commonVals.TotalVotingPower(); e.TotalVotingPower != total {
		return fmt.Errorf("%w: total voting power %d, the set at height %d has %d", ErrInvalidEvidence, e.TotalVotingPower, common.Header.Height, total)
	}
	if h > trusted.Header.Height {
		if lb.Header.Time.After(trusted.Header.Time) {
			return fmt.Errorf("%w: the conflicting block at height %d is above the chain (height %d) and dated after its latest block (%s > %s): nothing conflicts yet",
				ErrInvalidEvidence, h, trusted.Header.Height, lb.Header.Time, trusted.Header.Time)
		}
	} else if lb.Header.Hash() == trusted.Header.Hash() {
		return fmt.Errorf("%w: the conflicting block at height %d is the chain's own", ErrInvalidEvidence, h)
	}
	return e.checkAccused(commonVals, trusted)
}

// checkAccused compares the evidence's byzantine validators with the
// list AccusedValidators computes.
func (e *LightClientAttackEvidence) checkAccused(commonVals *ValidatorSet, trusted *SignedHeader) error {
	want := e.AccusedValidators(commonVals, trusted)
	if len(want) != len(e.ByzantineValidators) {
		return fmt.Errorf("%w: %d accused (byzantine_validators), the attack makes %d", ErrInvalidEvidence, len(e.ByzantineValidators), len(want))
	}
	for i, w := range want {
		got := e.ByzantineValidators[i]
		switch {
		case got.Address != w.Address:
			return fmt.Errorf("%w: accused validator %d is %X, want %X", ErrInvalidEvidence, i, got.Address[:6], w.Address[:6])
		case got.VotingPower != w.VotingPower:
			return fmt.Errorf("%w: accused validator %X has power %d, want %d", ErrInvalidEvidence, got.Address[:6], got.VotingPower, w.VotingPower)
		case AddressOf(got.PubKey) != got.Address:
			return fmt.Errorf("%w: accused validator %X: its public key is not its address's", ErrInvalidEvidence, got.Address[:6])
		}
	}
	return nil
}

// commitPower checks every signature of commit's precommits for its block
// by validators of vals and returns the voting power that signed. With
// byIndex, slot i is vals' validator i (the commit is vals' own);
// otherwise signers are found by address and those not in vals are passed
// over (the commit is another set's), and one that signs twice is an
// error. Other slots (absent, nil) are not checked.
func commitPower(chainID string, vals *ValidatorSet, commit *Commit, byIndex bool) (int64, error) {
	var power int64
	seen := make(map[int32]bool)
	for i, sig := range commit.Signatures {
		if sig.Flag != BlockIDFlagCommit {
			continue
		}
		vote := commit.VoteAt(i)
		if !byIndex {
			idx, v := vals.ByAddress(sig.ValidatorAddress)
			if v == nil {
				continue
			}
			if seen[idx] {
				return 0, fmt.Errorf("%w: validator %X signed twice (slot %d)", ErrInvalidCommit, sig.ValidatorAddress[:6], i)
			}
			seen[idx] = true
			vote.ValidatorIndex = idx
		}
		if err := VerifyVote(chainID, vals, vote); err != nil {
			return 0, fmt.Errorf("%w: slot %d: %w", ErrInvalidCommit, i, err)
		}
		power += vals.ByIndex(vote.ValidatorIndex).VotingPower
	}
	return power, nil
}
