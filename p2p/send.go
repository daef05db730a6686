package p2p

import (
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Sending each peer what it lacks: at once for our own and newly verified
// messages, and every gossip interval for the rest.

// sendProposalLocked queues the proposal and the parts ps lacks that
// arrived no later than cutoff (zero: any).
func (t *Transport) sendProposalLocked(ps *peerState, sp *storedProposal, cutoff time.Time) {
	h, r := sp.proposal.Height, sp.proposal.Round
	has := ps.hasAt(h)
	if !sp.verified || has.blocks[r] {
		return
	}
	if !has.proposals[r] {
		if !cutoff.IsZero() && sp.at.After(cutoff) {
			return
		}
		if !t.enqueue(ps, KindProposal, sp.frame) {
			return
		}
		has.proposals[r] = true
	}
	for i := range uint32(len(sp.parts.parts)) {
		k := partKey{r, i}
		if _, ok := has.parts[k]; ok || !sp.parts.has(i) {
			continue
		}
		if !cutoff.IsZero() && sp.partAt != nil && sp.partAt[i].After(cutoff) {
			continue
		}
		f := sp.partFrame(i)
		if f == nil || !t.enqueue(ps, KindBlockPart, f) {
			return
		}
		has.parts[k] = struct{}{}
	}
}

func (t *Transport) sendVoteLocked(ps *peerState, k voteKey, sv *storedVote, cutoff time.Time) {
	if !sv.verified {
		return
	}
	has := ps.hasAt(k.height)
	if _, ok := has.votes[k]; ok || (!cutoff.IsZero() && sv.at.After(cutoff)) {
		return
	}
	if t.enqueue(ps, KindVote, sv.frame) {
		has.votes[k] = struct{}{}
	}
}

// runGossip periodically sends each peer what it lacks at its height:
// this relays messages through the network and catches up a peer that
// reconnected or fell one height behind.
func (t *Transport) runGossip() {
	tick := time.NewTicker(t.cfg.GossipInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		t.gossipOnce()
		t.ticks.Add(1)
	}
}

func (t *Transport) gossipOnce() {
	t.gossip.mu.Lock()
	defer t.gossip.mu.Unlock()
	cutoff := time.Now().Add(-t.cfg.GossipInterval)
	ids := make([]peer.ID, 0, len(t.gossip.peers))
	for id := range t.gossip.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ps := t.gossip.peers[id]
		if !ps.status.known {
			continue
		}
		t.sendHeightLocked(ps, ps.status.height, cutoff)
	}
}

// sendHeightLocked queues what ps lacks of height h that arrived no later
// than cutoff (zero: any): proposals with their parts, round by round,
// then votes.
func (t *Transport) sendHeightLocked(ps *peerState, h int64, cutoff time.Time) {
	hd := t.gossip.heights[h]
	if hd == nil {
		return
	}
	rounds := make([]int32, 0, len(hd.proposals))
	for r := range hd.proposals {
		rounds = append(rounds, r)
	}
	slices.Sort(rounds)
	for _, r := range rounds {
		t.sendProposalLocked(ps, hd.proposals[r], cutoff)
	}
	for k, sv := range hd.votes {
		t.sendVoteLocked(ps, k, sv, cutoff)
	}
}
