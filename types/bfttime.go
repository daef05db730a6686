package types

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// BFT time, as CometBFT v0.40.0 computes block times (its spec's
// consensus/bft-time.md): a block's time is not the proposer's clock but
// the voting-power-weighted median of the precommit timestamps in its last
// commit, so validators with less than a third of the power cannot move it
// outside the range of the correct validators' clocks. The first block's
// time is the genesis time.

// ErrBlockTime means a block's time is not the one BFT time gives it.
var ErrBlockTime = errors.New("wrong block time")

// VoteTimeIota is how much later than the block it votes on (or is locked
// on) a validator's vote timestamp is at least: the least step between
// consecutive block times, since the next block's time is one of these
// timestamps.
const VoteTimeIota = time.Millisecond

// MedianTime is the BFT time of the block that carries commit as its last
// commit: the weighted median of the timestamps of the precommits for the
// committed block (slots flagged BlockIDFlagCommit; nil and absent slots
// do not count), weighted by the voting power in vals, the set that signed
// the commit.
//
// The median is CometBFT's exactly, since a block whose time differs by a
// nanosecond is invalid: with the precommits in time order, it is the
// first timestamp at which their cumulative power reaches half the power
// that precommitted (rounded down).
func MedianTime(commit *Commit, vals *ValidatorSet) (time.Time, error) {
	if commit == nil {
		return time.Time{}, fmt.Errorf("%w: no last commit to take the median of", ErrBlockTime)
	}
	type weighted struct {
		t     time.Time
		power int64
	}
	ws := make([]weighted, 0, len(commit.Signatures))
	var total int64
	for _, s := range commit.Signatures {
		if s.Flag != BlockIDFlagCommit {
			continue
		}
		_, v := vals.ByAddress(s.ValidatorAddress)
		if v == nil {
			return time.Time{}, fmt.Errorf("%w: commit signer %X is not in the validator set", ErrBlockTime, s.ValidatorAddress[:6])
		}
		ws = append(ws, weighted{s.Timestamp, v.VotingPower})
		total += v.VotingPower
	}
	if len(ws) == 0 {
		return time.Time{}, fmt.Errorf("%w: the last commit has no precommit for its block", ErrBlockTime)
	}
	slices.SortStableFunc(ws, func(a, b weighted) int { return a.t.Compare(b.t) })
	// What is left of half never exceeds the power left, so i stays in range.
	half, i := total/2, 0
	for half > ws[i].power {
		half -= ws[i].power
		i++
	}
	return ws[i].t, nil
}

// BlockTime is the time BFT time gives the block at height, whose last
// commit is lastCommit, signed by lastVals: the genesis time for the
// chain's initial height, else MedianTime.
func BlockTime(height, initialHeight int64, genesisTime time.Time, lastCommit *Commit, lastVals *ValidatorSet) (time.Time, error) {
	if height == initialHeight {
		return genesisTime, nil
	}
	return MedianTime(lastCommit, lastVals)
}

// VoteTime is the timestamp of a vote signed at now (the signer's clock)
// by a validator locked on, or else shown, a block with time blockTime
// (zero when there is none): now, but at least VoteTimeIota after
// blockTime, so the next block's time, a median of precommit timestamps,
// is after this block's (CometBFT's voteTime). The result is in UTC
// without a monotonic clock reading, as a signed timestamp travels.
func VoteTime(now, blockTime time.Time) time.Time {
	if least := blockTime.Add(VoteTimeIota); !blockTime.IsZero() && now.Before(least) {
		now = least
	}
	return now.Round(0).UTC()
}
