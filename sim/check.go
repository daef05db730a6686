package sim

import (
	"fmt"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Violation kinds.
const (
	ViolationAgreement   = "agreement"
	ViolationValidity    = "validity"
	ViolationTermination = "termination"
	ViolationDoubleSign  = "double-sign"
	ViolationBFTTime     = "bft-time"
	// ViolationDurability: a correct validator sent an own message before
	// the WAL record and the signer's state covering it were durable.
	ViolationDurability = "durability"
	// ViolationAccountability: a block a correct validator committed holds
	// evidence against a correct validator.
	ViolationAccountability = "accountability"
	// ViolationEngine: an engine stopped on a failure the simulator did
	// not inject, or could not start.
	ViolationEngine = "engine"
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
	// committed holds the evidence in the correct validators' decided
	// blocks, by hash, and accused the validators it accuses.
	committed map[types.Hash]bool
	accused   map[types.Address]bool

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
		committed: map[types.Hash]bool{},
		accused:   map[types.Address]bool{},
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

// decided checks Agreement and Validity for a correct validator's
// decision of block b (ID id) at height h, in round r.
func (c *checker) decided(validator int, h int64, r int32, id types.BlockID, b *types.Block) {
	if prev, ok := c.decisions[h]; ok {
		if prev.id != id {
			c.fail(ViolationAgreement, h, "validator %d decided %s in round %d, validator %d decided %s in round %d",
				prev.node, prev.id, prev.round, validator, id, r)
		}
	} else {
		c.decisions[h] = decision{id: id, node: validator, round: r}
	}
	if !c.offered[id] {
		c.fail(ViolationValidity, h, "validator %d decided %s, which nobody proposed", validator, id)
	}
	if err := b.ValidateBasic(); err != nil || b.Header.ChainID != ChainID || b.Header.Height != h {
		c.fail(ViolationValidity, h, "validator %d decided %s, which is not a valid block of this chain and height: %v", validator, id, err)
		return
	}
	c.decidedTime(h, b)
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

// committedEvidence checks the evidence in block b, which correct validator
// validator decided: duplicate-vote evidence may accuse only a validator
// that is not correct (one Config.Decorate made Byzantine).
func (c *checker) committedEvidence(validator int, b *types.Block) {
	for _, ev := range b.Evidence {
		c.committed[ev.Hash()] = true
		dv, ok := ev.(*types.DuplicateVoteEvidence)
		if !ok || dv.VoteA == nil {
			continue
		}
		addr := dv.VoteA.ValidatorAddress
		c.accused[addr] = true
		if c.correct[addr] {
			c.fail(ViolationAccountability, b.Header.Height, "correct validator %d committed evidence against correct validator %X", validator, addr[:6])
		}
	}
}
