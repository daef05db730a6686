package engine

import "github.com/bftnode/bftnode/consensus/msgs"

// The messages and ports the engine shares with the network live in
// package msgs, which depends only on types, so that the transport (package
// p2p) does not import the engine. These aliases keep the engine's own
// names for them. Signatures and validator membership are checked by the
// engine, which knows the validator set of each height.
type (
	Msg               = msgs.Msg
	ProposalMsg       = msgs.ProposalMsg
	ProposalHeaderMsg = msgs.ProposalHeaderMsg
	VoteMsg           = msgs.VoteMsg
	CommitMsg         = msgs.CommitMsg
	Inbound           = msgs.Inbound
	Status            = msgs.Status
	Transport         = msgs.Transport
	BlockSource       = msgs.BlockSource
)
