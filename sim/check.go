package sim

import (
	"fmt"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// Violation kinds.
const (
	ViolationAgreement   = "agreement"
	ViolationValidity    = "validity"
	ViolationTermination = "termination"
	ViolationDoubleSign  = "double-sign"
	ViolationBFTTime     = "bft-time"
)

// Violation is a broken guarantee found in a run.
type Violation struct {
	Kind   string `json:"kind"`
	Height int64  `json:"height"`
	Detail string `json:"detail"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s at height %d: %s", v.Kind, v.Height, v.Detail)
}

type signKey struct {
	validator int
	height    int64
	round     int32
	typ       types.SignedMsgType
}

type decision struct {
	id    types.BlockID
	node  int
	round int32
}

// checker watches a run and records every violation of the guarantees.
type checker struct {
	decisions  map[int64]decision
	signed     map[signKey]types.BlockID
	offered    map[types.BlockID]bool
	violations []Violation

	// BFT time: timeErr says whether a block is dated by BFT time (the
	// world's check); misdated holds the proposed blocks that are not;
	// times the decided blocks' times; correct the validators whose clocks
	// are honest, by address (true for the correct ones).
	timeErr  func(*types.Block) error
	misdated map[types.BlockID]bool
	times    map[int64]time.Time
	correct  map[types.Address]bool
}

func newChecker(Config) *checker {
	return &checker{
		decisions: map[int64]decision{},
		signed:    map[signKey]types.BlockID{},
		offered:   map[types.BlockID]bool{},
		misdated:  map[types.BlockID]bool{},
		times:     map[int64]time.Time{},
		correct:   map[types.Address]bool{},
	}
}

func (c *checker) fail(kind string, h int64, format string, args ...any) {
	c.violations = append(c.violations, Violation{Kind: kind, Height: h, Detail: fmt.Sprintf(format, args...)})
}

// proposed records a block offered in a signed proposal, and whether it is
// dated by BFT time; it reports whether it is not.
func (c *checker) proposed(id types.BlockID, b *types.Block) (misdated bool) {
	c.offered[id] = true
	if b != nil && c.timeErr(b) != nil {
		c.misdated[id] = true
	}
	return c.misdated[id]
}

// signedVote records a vote a correct validator signed, b being its block
// (nil for a nil vote or an unknown block); a second, different vote for
// the same height, round and type is a double-sign. A vote for a block
// not dated by BFT time breaks it, and so does a precommit dated less than
// 1 ms after its block (the next block's time, a median of such
// timestamps, must be later).
func (c *checker) signedVote(validator int, v *types.Vote, b *types.Block) {
	if c.misdated[v.BlockID] {
		c.fail(ViolationBFTTime, v.Height, "correct validator %d signed a %s for %s in round %d, a block not dated by BFT time",
			validator, v.Type, v.BlockID, v.Round)
	}
	if b != nil && v.Type == types.PrecommitType && v.Timestamp.Sub(b.Header.Time) < types.VoteTimeIota {
		c.fail(ViolationBFTTime, v.Height, "correct validator %d precommitted %s dated %v at %v, less than %v later",
			validator, v.BlockID, b.Header.Time, v.Timestamp, types.VoteTimeIota)
	}
	k := signKey{validator, v.Height, v.Round, v.Type}
	if prev, ok := c.signed[k]; ok && prev != v.BlockID {
		c.fail(ViolationDoubleSign, v.Height, "correct validator %d signed %s for %s and %s in round %d", validator, v.Type, prev, v.BlockID, v.Round)
		return
	}
	c.signed[k] = v.BlockID
}

// decided checks Agreement and Validity for a correct validator's decision.
func (c *checker) decided(validator int, d consensus.Decide, b *types.Block) {
	if prev, ok := c.decisions[d.Height]; ok {
		if prev.id != d.BlockID {
			c.fail(ViolationAgreement, d.Height, "validator %d decided %s in round %d, validator %d decided %s in round %d",
				prev.node, prev.id, prev.round, validator, d.BlockID, d.Round)
		}
	} else {
		c.decisions[d.Height] = decision{id: d.BlockID, node: validator, round: d.Round}
	}
	if !c.offered[d.BlockID] {
		c.fail(ViolationValidity, d.Height, "validator %d decided %s, which nobody proposed", validator, d.BlockID)
	}
	if b == nil || !appValid(b, d.Height) {
		c.fail(ViolationValidity, d.Height, "validator %d decided %s, which the application refuses", validator, d.BlockID)
		return
	}
	c.decidedTime(d.Height, b)
}

// decidedTime checks BFT time on a height's first decided block: dated by
// the weighted median of its last commit (the genesis time at height 1),
// later than the block before, and within the timestamps the correct
// validators put in that commit, so Byzantine clocks (less than a third of
// the power) did not move it.
func (c *checker) decidedTime(h int64, b *types.Block) {
	if _, ok := c.times[h]; ok {
		return
	}
	t := b.Header.Time
	c.times[h] = t
	if err := c.timeErr(b); err != nil {
		c.fail(ViolationBFTTime, h, "decided block %s: %v", blockID(b), err)
		return
	}
	if prev, ok := c.times[h-1]; ok && !t.After(prev) {
		c.fail(ViolationBFTTime, h, "block dated %v, not after block %d's %v", t, h-1, prev)
	}
	if b.LastCommit == nil {
		return
	}
	var lo, hi time.Time
	for _, s := range b.LastCommit.Signatures {
		if s.Flag != types.BlockIDFlagCommit || !c.correct[s.ValidatorAddress] {
			continue
		}
		if lo.IsZero() || s.Timestamp.Before(lo) {
			lo = s.Timestamp
		}
		if s.Timestamp.After(hi) {
			hi = s.Timestamp
		}
	}
	if !lo.IsZero() && (t.Before(lo) || t.After(hi)) {
		c.fail(ViolationBFTTime, h, "block dated %v, outside the correct validators' precommit times %v … %v", t, lo, hi)
	}
}

// testsLock reports whether proposal p puts a correct validator's lock to
// the test: the validator (at rs) is locked on the value another correct
// validator already decided at this height, and p, from a later round,
// offers another value with no POL that could release the lock (none, or
// one older than the lock). Only the locking rules (L22, L28) keep the
// validator from prevoting it, and so the decision safe.
func (c *checker) testsLock(rs consensus.RoundState, p *types.Proposal) bool {
	d, ok := c.decisions[p.Height]
	return ok && rs.Height == p.Height && rs.LockedRound >= 0 && rs.LockedValue == d.id &&
		p.BlockID != d.id && p.Round > rs.LockedRound && p.POLRound < rs.LockedRound
}
