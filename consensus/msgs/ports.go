package msgs

import "github.com/bftnode/bftnode/types"

// Transport is the engine's port to the network. The in-memory fake
// (consensus/engine/memnet) and the libp2p implementation (package p2p)
// both satisfy it. No method blocks on peers.
type Transport interface {
	// Broadcast sends the engine's own message (ProposalMsg or VoteMsg) to
	// every peer not known to have it.
	Broadcast(Msg)
	// Relay is the engine's verdict on a peer's message (ProposalHeaderMsg,
	// ProposalMsg or VoteMsg, as delivered by Inbound): its signer is a
	// validator of its height (the round's proposer for a proposal) and its
	// signature verifies, so the transport may forward it to other peers.
	// A transport never forwards a peer's message without it, so a node
	// never relays a forgery and an honest relayer is never reported for
	// one. Relay only queues the verdict: the transport acts on it on its
	// own goroutine, so the engine never waits on the transport's locks.
	Relay(Msg)
	// Inbound delivers messages from peers.
	Inbound() <-chan Inbound
	// SetStatus advertises this node's position to its peers and sets the
	// Window of messages the transport admits.
	SetStatus(Status)
	// ReportPeer says that peer sent a message that failed validation (bad
	// signature, wrong chain, invalid block): the transport lowers its
	// score and drops it past a threshold.
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
	// LoadExtendedCommit returns the seen commit of height with its
	// precommits' vote extensions, kept only for heights that have vote
	// extensions in force.
	LoadExtendedCommit(height int64) (*types.ExtendedCommit, error)
}
