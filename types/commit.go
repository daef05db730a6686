package types

import (
	"errors"
	"fmt"
)

// ErrInvalidCommit is returned when a commit does not prove its block.
var ErrInvalidCommit = errors.New("invalid commit")

// VerifyCommit checks that commit carries valid precommits for blockID at
// height from more than 2/3 of vals' voting power. Every signature present
// is checked, so a commit with a forged slot is refused even when the rest
// would be enough.
func (vs *ValidatorSet) VerifyCommit(chainID string, blockID BlockID, height int64, commit *Commit) error {
	switch {
	case commit == nil:
		return fmt.Errorf("%w: missing", ErrInvalidCommit)
	case commit.Height != height:
		return fmt.Errorf("%w: height %d, want %d", ErrInvalidCommit, commit.Height, height)
	case commit.BlockID != blockID:
		return fmt.Errorf("%w: for block %s, want %s", ErrInvalidCommit, commit.BlockID, blockID)
	case len(commit.Signatures) != vs.Size():
		return fmt.Errorf("%w: %d signatures for %d validators", ErrInvalidCommit, len(commit.Signatures), vs.Size())
	}
	var power int64
	for i, sig := range commit.Signatures {
		if sig.Flag == BlockIDFlagAbsent {
			if sig.ValidatorAddress != (Address{}) || !sig.Timestamp.IsZero() || len(sig.Signature) != 0 {
				return fmt.Errorf("%w: absent slot %d is not empty", ErrInvalidCommit, i)
			}
			continue
		}
		if sig.Flag != BlockIDFlagCommit && sig.Flag != BlockIDFlagNil {
			return fmt.Errorf("%w: slot %d has flag %d", ErrInvalidCommit, i, sig.Flag)
		}
		if err := VerifyVote(chainID, vs, commit.VoteAt(i)); err != nil {
			return fmt.Errorf("%w: slot %d: %w", ErrInvalidCommit, i, err)
		}
		if sig.Flag == BlockIDFlagCommit {
			power += vs.Validators[i].VotingPower
		}
	}
	if power*3 <= vs.TotalVotingPower()*2 {
		return fmt.Errorf("%w: only %d of %d voting power", ErrInvalidCommit, power, vs.TotalVotingPower())
	}
	return nil
}
