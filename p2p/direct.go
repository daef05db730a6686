package p2p

import (
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
)

// ConsensusPeers and SendDirect send one consensus message to one peer,
// past the gossip store and what the peer is known to have: a second
// proposal or vote for a (height, round, step) the peer already has, which
// gossip never sends. The node never calls them; fault tests do, through
// the Transport decorator of package internal/byzantine.

// ConsensusPeers lists the connected peers' IDs, sorted.
func (t *Transport) ConsensusPeers() []string {
	var out []string
	for _, id := range t.peers.ids() {
		out = append(out, id.String())
	}
	slices.Sort(out)
	return out
}

// SendDirect queues msg (an msgs.ProposalMsg with all its block parts, or
// an msgs.VoteMsg) for one peer, bypassing the gossip store and what the
// peer is known to have. It reports whether the peer is connected and
// everything was queued.
func (t *Transport) SendDirect(peerID string, msg any) bool {
	id, err := peer.Decode(peerID)
	if err != nil {
		return false
	}
	var frames []outFrame
	switch m := msg.(type) {
	case msgs.VoteMsg:
		if m.Vote == nil {
			return false
		}
		f, err := encodeFrame(&p2ppb.ConsensusMessage{Vote: &p2ppb.VoteMessage{Vote: m.Vote.ToProto()}})
		if err != nil {
			return false
		}
		frames = append(frames, outFrame{kind: KindVote, frame: f})
	case msgs.ProposalMsg:
		if m.Proposal == nil || m.Block == nil {
			return false
		}
		parts, err := partSetFromBlock(m.Block, m.Proposal.BlockID.PartSetHeader)
		if err != nil {
			return false
		}
		f, err := encodeFrame(&p2ppb.ConsensusMessage{Proposal: &p2ppb.ProposalMessage{Proposal: m.Proposal.ToProto()}})
		if err != nil {
			return false
		}
		frames = append(frames, outFrame{kind: KindProposal, frame: f})
		sp := &storedProposal{proposal: m.Proposal, parts: parts}
		for i := range uint32(len(parts.parts)) {
			pf := sp.partFrame(i)
			if pf == nil {
				return false
			}
			frames = append(frames, outFrame{kind: KindBlockPart, frame: pf})
		}
	default:
		return false
	}
	ps := t.peers.get(id)
	if ps == nil {
		return false
	}
	for _, f := range frames {
		if !t.enqueue(ps, f.kind, f.frame) {
			return false
		}
	}
	return true
}
