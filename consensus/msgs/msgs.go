package msgs

import "github.com/bftnode/bftnode/types"

// Msg is a consensus message: ProposalMsg, ProposalHeaderMsg, VoteMsg or
// CommitMsg, or a pointer to one. The set is closed: only this package
// can add a kind.
type Msg interface{ isMsg() }

// ProposalMsg is a signed proposal with the complete block it proposes.
type ProposalMsg struct {
	Proposal *types.Proposal
	Block    *types.Block
}

// ProposalHeaderMsg is a peer's signed proposal whose block is still
// arriving in parts. The engine only authenticates it and, when it
// verifies, relays it (Transport.Relay), so that the transport may forward
// the proposal and stream its parts before the whole block is in. The
// ProposalMsg with the block follows once every part has arrived.
type ProposalHeaderMsg struct {
	Proposal *types.Proposal
}

// VoteMsg is a signed prevote or precommit.
type VoteMsg struct {
	Vote *types.Vote
}

// CommitMsg is a decided block with the commit (over 2/3 precommits) that
// justifies it, as block sync and catch-up deliver it. At a height with
// vote extensions in force, Extended is that commit with its precommits'
// vote extensions (Extended.Commit is Commit); nil otherwise.
type CommitMsg struct {
	Block    *types.Block
	Commit   *types.Commit
	Extended *types.ExtendedCommit
}

func (ProposalMsg) isMsg()       {}
func (ProposalHeaderMsg) isMsg() {}
func (VoteMsg) isMsg()           {}
func (CommitMsg) isMsg()         {}

// Inbound is a message from a peer, with the peer's ID so the engine can
// report misbehaviour back to the transport.
type Inbound struct {
	From string
	Msg  Msg
}

// Status is where this node's consensus is, advertised to peers so they can
// send what it lacks. The zero Status means consensus has not started (the
// app handshake and WAL replay are still running).
type Status struct {
	Height int64 // the height being decided (last committed + 1)
	Round  int32
	Step   uint8
	// Validators and NextValidators are the sizes of the validator sets
	// of Height and Height+1 (0: unknown, then MaxValidators bounds vote
	// indexes).
	Validators, NextValidators int
}
