package engine

import (
	"github.com/bftnode/bftnode/types"
)

// The messages the engine exchanges with its peers. They are domain types:
// the p2p layer converts them to and from wire frames at its edge, splits
// blocks into parts and checks sizes and encodings before anything reaches
// the engine. Signatures and validator membership are checked by the engine,
// which knows the validator set of each height.

// ProposalMsg is a signed proposal with the complete block it proposes.
type ProposalMsg struct {
	Proposal *types.Proposal
	Block    *types.Block
}

// ProposalHeaderMsg is a peer's signed proposal whose block is still
// arriving in parts. The engine only authenticates it (the signature of the
// round's proposer at the current height) and, when it verifies, hands it
// back through Transport.Accepted, so that the transport may relay the
// proposal and stream its parts before the whole block is in. The
// ProposalMsg with the block follows once every part has arrived.
type ProposalHeaderMsg struct {
	Proposal *types.Proposal
}

// VoteMsg is a signed prevote or precommit.
type VoteMsg struct {
	Vote *types.Vote
}

// CommitMsg is a decided block with the commit (over 2/3 precommits) that
// justifies it. Block sync and catch-up deliver these; the engine applies one
// for its current height once the commit verifies against the validator set
// it tracks, whatever round it is in.
type CommitMsg struct {
	Block  *types.Block
	Commit *types.Commit
}

// Inbound is a message from a peer, with the peer's ID so the engine can
// report misbehaviour back to the transport.
type Inbound struct {
	From string
	Msg  any // ProposalHeaderMsg, ProposalMsg, VoteMsg or CommitMsg
}

// Status is where this node's consensus is, advertised to peers so they can
// send what it lacks.
type Status struct {
	Height int64 // the height being decided (last committed + 1)
	Round  int32
	Step   uint8
}

// Transport carries consensus messages between validators. The in-memory
// fake (memnet) and the libp2p implementation (package p2p) both satisfy it.
type Transport interface {
	// Broadcast sends msg (ProposalMsg or VoteMsg) to every peer that is not
	// known to have it. It does not block on slow peers.
	Broadcast(msg any)
	// Accepted says that a peer's message (ProposalHeaderMsg, ProposalMsg
	// or VoteMsg, as delivered by Inbound) passed the engine's checks: its
	// signer is a validator of its height (the round's proposer for a
	// proposal) and its signature verifies. The transport relays a peer's
	// proposals, block parts and votes to other peers only after this, so
	// a node never forwards a forgery and an honest relayer is never
	// reported for one. Messages the engine drops or buffers for a later
	// height are accepted when (and if) it checks them, or never relayed.
	// Broadcast stays for the engine's own messages. Accepted must not
	// block.
	Accepted(msg any)
	// Inbound delivers messages from peers.
	Inbound() <-chan Inbound
	// SetStatus advertises this node's position to its peers.
	SetStatus(Status)
	// ReportPeer says that peer sent a message that failed validation (bad
	// signature, wrong chain, invalid block): the transport lowers its score
	// and drops it past a threshold.
	ReportPeer(peer string, reason error)
}

// BlockSource is what the transport reads to serve block sync and catch-up:
// committed blocks and the commits that justify them.
type BlockSource interface {
	Base() int64
	Height() int64
	LoadBlock(height int64) (*types.Block, error)
	// LoadBlockCommit returns the commit for height that block height+1
	// carries; LoadSeenCommit returns the commit this node saw for height
	// (the only one available for the latest height).
	LoadBlockCommit(height int64) (*types.Commit, error)
	LoadSeenCommit(height int64) (*types.Commit, error)
}
