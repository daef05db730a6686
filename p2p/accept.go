package p2p

import (
	"bytes"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// Relaying only what the engine verified.
//
// A peer's vote or proposal is stored unverified and delivered to the
// engine; it is neither relayed nor announced (HasVote, HasPart, HasBlock)
// until the engine relays it (Transport.Relay). Otherwise a Byzantine peer could
// send forgeries through an honest node to its peers, whose engines would
// then report (and ban) the honest relayer, or announce a forged vote so
// that peers withhold the genuine one. Block parts prove into the signed
// proposal's part set header, so they stream on as soon as the proposal
// itself is accepted (the engine checks a ProposalHeaderMsg before the
// block is complete).

// relayQueue bounds the engine's relay verdicts waiting for runRelay: one
// per verified message, so a few heights' worth of votes and proposals.
const relayQueue = 4096

// Relay queues the engine's verdict that a peer's message (msgs.VoteMsg,
// msgs.ProposalHeaderMsg or msgs.ProposalMsg) verified. It never blocks
// and takes no lock: runRelay applies the verdicts in order, marking the
// message relayable and telling the peers that lack it that we have it.
// When the queue is full the verdict is dropped (and counted): the
// message stays unrelayed, as if the engine had not checked it.
func (t *Transport) Relay(msg msgs.Msg) {
	select {
	case t.relays <- msg:
	default:
		t.stats.droppedRelays.Add(1)
	}
}

// runRelay applies the engine's relay verdicts until the transport closes.
func (t *Transport) runRelay() {
	for {
		select {
		case <-t.ctx.Done():
			return
		case m := <-t.relays:
			t.applyRelay(m)
		}
	}
}

func (t *Transport) applyRelay(msg msgs.Msg) {
	switch m := msg.(type) {
	case msgs.VoteMsg:
		t.acceptVote(m.Vote)
	case *msgs.VoteMsg:
		if m != nil {
			t.acceptVote(m.Vote)
		}
	case msgs.ProposalHeaderMsg:
		t.acceptProposal(m.Proposal, nil)
	case *msgs.ProposalHeaderMsg:
		if m != nil {
			t.acceptProposal(m.Proposal, nil)
		}
	case msgs.ProposalMsg:
		t.acceptProposal(m.Proposal, m.Block)
	case *msgs.ProposalMsg:
		if m != nil {
			t.acceptProposal(m.Proposal, m.Block)
		}
	default:
		t.log.Error("relay of an unsupported message", "type", fmt.Sprintf("%T", msg))
	}
}

// relayableLocked reports whether a message the engine verified, of
// height h and round r, is still worth relaying: one in the window, or of
// the height just decided (the engine may have moved on while the verdict
// was queued, and the precommits that decided it help lagging peers).
func (t *Transport) relayableLocked(h int64, r int32) bool {
	return h == t.gossip.status.Height-1 || t.gossip.status.Admits(h, r)
}

func (t *Transport) acceptVote(v *types.Vote) {
	if v == nil {
		return
	}
	k := voteKey{v.Height, v.Round, v.Type, v.ValidatorIndex}
	t.gossip.mu.Lock()
	defer t.gossip.mu.Unlock()
	if !t.relayableLocked(v.Height, v.Round) {
		return
	}
	hd := t.heightLocked(v.Height)
	sv := hd.votes[k]
	switch {
	case sv != nil && sameVote(sv.vote, v):
		if sv.verified {
			return
		}
	case sv != nil && sv.verified:
		return // a conflicting vote (evidence): gossip keeps the first
	default:
		// Nothing held, or an unverified vote this one shows was forged.
		frame, err := encodeFrame(&p2ppb.ConsensusMessage{Vote: &p2ppb.VoteMessage{Vote: v.ToProto()}})
		if err != nil {
			return
		}
		sv = &storedVote{vote: v, frame: frame, at: time.Now()}
		hd.votes[k] = sv
	}
	sv.verified = true
	hv, err := encodeFrame(&p2ppb.ConsensusMessage{HasVote: &p2ppb.HasVote{Height: k.height, Round: k.round, Type: uint32(k.typ), Index: k.index}})
	if err != nil {
		return
	}
	for _, other := range t.gossip.peers {
		if _, ok := other.hasAt(v.Height).votes[k]; !ok && peerNearLocked(other, v.Height) {
			t.enqueue(other, KindHasVote, hv)
		}
	}
}

func (t *Transport) acceptProposal(p *types.Proposal, block *types.Block) {
	if p == nil {
		return
	}
	psh := p.BlockID.PartSetHeader
	if psh.Total == 0 || psh.Total > t.cfg.maxParts() {
		return
	}
	t.gossip.mu.Lock()
	defer t.gossip.mu.Unlock()
	if !t.relayableLocked(p.Height, p.Round) {
		return
	}
	hd := t.heightLocked(p.Height)
	sp := hd.proposals[p.Round]
	switch {
	case sp != nil && sameProposal(sp.proposal, p):
		if sp.verified {
			return
		}
	case sp != nil && sp.verified:
		return // a second signed proposal for the round: never relayed
	case sp == nil && len(hd.proposals) >= maxProposalsPerHeight:
		return
	default:
		// Nothing held, or an unverified proposal this one shows was
		// forged: hold this one instead.
		frame, err := encodeFrame(&p2ppb.ConsensusMessage{Proposal: &p2ppb.ProposalMessage{Proposal: p.ToProto()}})
		if err != nil {
			return
		}
		sp = &storedProposal{proposal: p, frame: frame, parts: newPartSet(psh), at: time.Now(), partAt: make([]time.Time, psh.Total)}
		if block != nil {
			if parts, err := partSetFromBlock(block, psh); err == nil {
				sp.parts, sp.partAt, sp.delivered = parts, nil, true
			}
		}
		hd.proposals[p.Round] = sp
	}
	sp.verified = true
	t.announceHeldLocked(sp)
}

// announceHeldLocked tells peers near the height what we hold of sp, now
// verified: the whole block, or each part they lack.
func (t *Transport) announceHeldLocked(sp *storedProposal) {
	if sp.parts.complete() {
		t.announceBlockLocked(sp, nil)
		return
	}
	h, r := sp.proposal.Height, sp.proposal.Round
	for i := range uint32(len(sp.parts.parts)) {
		if !sp.parts.has(i) {
			continue
		}
		hp, err := encodeFrame(&p2ppb.ConsensusMessage{HasPart: &p2ppb.HasPart{Height: h, Round: r, Index: i}})
		if err != nil {
			return
		}
		for _, other := range t.gossip.peers {
			oh := other.hasAt(h)
			if _, ok := oh.parts[partKey{r, i}]; !ok && !oh.blocks[r] && peerNearLocked(other, h) {
				t.enqueue(other, KindHasPart, hp)
			}
		}
	}
}

// announceBlockLocked sends HasBlock for sp's complete block to the peers
// near its height that lack it, except to except (its last sender).
func (t *Transport) announceBlockLocked(sp *storedProposal, except *peerState) {
	h, r := sp.proposal.Height, sp.proposal.Round
	hb, err := encodeFrame(&p2ppb.ConsensusMessage{HasBlock: &p2ppb.HasBlock{Height: h, Round: r}})
	if err != nil {
		return
	}
	for _, other := range t.gossip.peers {
		if other != except && !other.hasAt(h).blocks[r] && peerNearLocked(other, h) {
			t.enqueue(other, KindHasBlock, hb)
		}
	}
}

// sameVote says whether a and b are one message: the same vote signature
// and the same vote extension with the same signature. A copy of a genuine
// precommit with its extension stripped or replaced is not the same, so it
// cannot hold the place of the genuine one.
func sameVote(a, b *types.Vote) bool {
	return bytes.Equal(a.Signature, b.Signature) && bytes.Equal(a.ExtensionSignature, b.ExtensionSignature) && bytes.Equal(a.Extension, b.Extension)
}
