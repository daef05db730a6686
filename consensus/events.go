package consensus

import (
	"fmt"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Step is a validator's step within a round.
type Step uint8

// The three steps of a round (Algorithm 1, line 3).
const (
	StepPropose Step = iota + 1
	StepPrevote
	StepPrecommit
)

func (s Step) String() string {
	switch s {
	case StepPropose:
		return "propose"
	case StepPrevote:
		return "prevote"
	case StepPrecommit:
		return "precommit"
	}
	return fmt.Sprintf("step(%d)", uint8(s))
}

// Event is an input to the core. Every event carries the time it happened
// (Now), read by the caller: the core never reads a clock.
//
// The caller authenticates messages before they become events: a vote's
// signature is checked against the validator set (types.VerifyVote) and a
// proposal's against the proposer of its round (types.VerifyProposal).
type Event interface {
	isEvent()
}

// StartHeight begins consensus for Height with the validator set that
// decides it. It resets all per-height state and starts round 0.
type StartHeight struct {
	Height     int64
	Validators *types.ValidatorSet
	Now        time.Time
}

// ProposalReceived delivers a signed proposal from the proposer of its round.
type ProposalReceived struct {
	Proposal *types.Proposal
	Now      time.Time
}

// ValueReceived says that the complete block with BlockID is now available
// (all of its parts arrived and their hashes check out).
type ValueReceived struct {
	Height  int64
	BlockID types.BlockID
	Now     time.Time
}

// ValueReady answers RequestValue: this node built a fresh block for
// (Height, Round); it is complete and valid by construction.
type ValueReady struct {
	Height  int64
	Round   int32
	BlockID types.BlockID
	Now     time.Time
}

// ValidityChecked answers ValidateValue with the application's verdict
// (ProcessProposal): the paper's valid(v).
type ValidityChecked struct {
	Height  int64
	BlockID types.BlockID
	Valid   bool
	Now     time.Time
}

// VoteReceived delivers a signed prevote or precommit, including this node's
// own votes after the engine has signed them.
type VoteReceived struct {
	Vote *types.Vote
	Now  time.Time
}

// CommitReceived delivers a commit for the current height, verified by the
// caller against the height's validator set (types.ValidatorSet.VerifyCommit),
// whose block arrives (or arrived) with ValueReceived. It is how a node that
// missed a height's votes decides: a commit may hold a Byzantine validator's
// precommit that conflicts with the one this node counted, so its votes are
// not fed in one by one but taken as the 2f+1 precommits of L49 as a whole.
type CommitReceived struct {
	Commit *types.Commit
	Now    time.Time
}

// TimeoutFired reports that a timeout scheduled by ScheduleTimeout expired.
// A timeout for a height, round or step already left does nothing.
type TimeoutFired struct {
	Height int64
	Round  int32
	Step   Step
	Now    time.Time
}

func (StartHeight) isEvent()      {}
func (ProposalReceived) isEvent() {}
func (ValueReceived) isEvent()    {}
func (ValueReady) isEvent()       {}
func (ValidityChecked) isEvent()  {}
func (VoteReceived) isEvent()     {}
func (CommitReceived) isEvent()   {}
func (TimeoutFired) isEvent()     {}

// Action is an output of the core, to be carried out by the engine in the
// order given. Whatever the WAL must hold is durable before the message that
// follows it is sent.
type Action interface {
	isAction()
}

// RequestValue asks for a fresh block to propose at (Height, Round); the
// answer comes back as ValueReady.
type RequestValue struct {
	Height int64
	Round  int32
}

// ValidateValue asks the application whether a complete block is valid
// (ProcessProposal); the answer comes back as ValidityChecked.
type ValidateValue struct {
	Height  int64
	Round   int32
	BlockID types.BlockID
}

// SignProposal asks the engine to sign Proposal (whose Signature is empty),
// persist it, broadcast it with its block, and feed it back as
// ProposalReceived.
type SignProposal struct {
	Proposal types.Proposal
}

// SignVote asks the engine to sign Vote (whose Signature is empty), persist
// it (WAL fsync and last-sign state) before it leaves, broadcast it, and feed
// it back as VoteReceived.
//
// Vote.Timestamp is the event's Now. For BFT time the engine moves it to
// just after the time of block After when it is earlier (types.VoteTime):
// After is the block this validator is locked on, else the block proposed
// in this round, else nil (CometBFT's LockedBlock, ProposalBlock).
type SignVote struct {
	Vote  types.Vote
	After types.BlockID
}

// ScheduleTimeout asks for TimeoutFired{Height, Round, Step} after Duration.
type ScheduleTimeout struct {
	Height   int64
	Round    int32
	Step     Step
	Duration time.Duration
}

// Decide reports that BlockID is decided at Height, with the precommits of
// Round that justify it. The engine saves the block and commit, applies it
// to the application, and then sends StartHeight for the next height.
// Extended is Commit with the vote extensions its precommits carried; nil
// when the decision came from a CommitReceived commit.
type Decide struct {
	Height   int64
	Round    int32
	BlockID  types.BlockID
	Commit   *types.Commit
	Extended *types.ExtendedCommit
}

// ReportEvidence reports a validator that signed two different votes of one
// type for one height and round.
type ReportEvidence struct {
	Evidence types.DuplicateVoteEvidence
}

func (RequestValue) isAction()    {}
func (ValidateValue) isAction()   {}
func (SignProposal) isAction()    {}
func (SignVote) isAction()        {}
func (ScheduleTimeout) isAction() {}
func (Decide) isAction()          {}
func (ReportEvidence) isAction()  {}
