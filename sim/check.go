package sim

import (
	"fmt"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// Violation kinds.
const (
	ViolationAgreement   = "agreement"
	ViolationValidity    = "validity"
	ViolationTermination = "termination"
	ViolationDoubleSign  = "double-sign"
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
}

func newChecker(Config) *checker {
	return &checker{
		decisions: map[int64]decision{},
		signed:    map[signKey]types.BlockID{},
		offered:   map[types.BlockID]bool{},
	}
}

func (c *checker) fail(kind string, h int64, format string, args ...any) {
	c.violations = append(c.violations, Violation{Kind: kind, Height: h, Detail: fmt.Sprintf(format, args...)})
}

// proposed records a block offered in a signed proposal.
func (c *checker) proposed(id types.BlockID) { c.offered[id] = true }

// signedVote records a vote a correct validator signed; a second, different
// vote for the same height, round and type is a double-sign.
func (c *checker) signedVote(validator int, v *types.Vote) {
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
