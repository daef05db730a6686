package sim

import (
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// catchupBatch is how many decided heights a node sends a peer that is behind.
const catchupBatch = 8

// receive is a message arriving from the network.
func (n *node) receive(m message) {
	if !n.up {
		return
	}
	n.w.stats.Delivered++
	n.handle(m)
}

// handle checks a message at the edge, as the p2p layer does, and turns it
// into core events. Messages for a later height wait; a message from a peer
// at an earlier height gets that peer the blocks it lacks.
func (n *node) handle(m message) {
	h := n.core.RoundState().Height
	switch mh := m.height(); {
	case mh < h:
		n.help(m.from, mh)
		return
	case mh > h:
		if mh <= h+catchupBatch && len(n.future) < maxFuture && m.kind != msgStatus {
			n.future = append(n.future, m)
		}
		return
	}
	vals := n.w.valsAt(h)
	now := n.now()
	switch m.kind {
	case msgVote:
		if n.w.verifyVote(vals, m.vote) != nil {
			n.w.stats.Rejected++
			return
		}
		n.hear(m)
		v := m.vote
		if n.behaviour == LockAttack {
			v = n.w.attack.blind(v)
		}
		n.input(consensus.VoteReceived{Vote: v, Now: now}, nil, false)
	case msgProposal:
		if n.w.verifyProposal(vals, m.proposal) != nil || m.block == nil || blockID(m.block) != m.proposal.BlockID {
			n.w.stats.Rejected++
			return
		}
		if n.isCorrect() && !n.heardSet[m.proposal] && n.w.check.testsLock(n.core.RoundState(), m.proposal) {
			if m.proposal.POLRound < 0 {
				n.w.stats.FreshLockTests++
			} else {
				n.w.stats.StaleLockTests++
			}
		}
		n.hear(m)
		n.input(consensus.ProposalReceived{Proposal: m.proposal, Now: now}, m.block, false)
		n.input(consensus.ValueReceived{Height: h, BlockID: m.proposal.BlockID, Now: now}, nil, false)
	case msgCatchup:
		if m.block == nil || blockID(m.block) != m.commit.BlockID || vals.VerifyCommit(chainID, m.commit.BlockID, h, m.commit) != nil {
			n.w.stats.Rejected++
			return
		}
		n.input(consensus.ValueReceived{Height: h, BlockID: m.commit.BlockID, Now: now}, m.block, false)
		n.input(consensus.CommitReceived{Commit: m.commit, Now: now}, nil, false)
	}
}

// help sends a peer at height h the decided blocks and commits from h on,
// at most once per gossip interval.
func (n *node) help(peer int, h int64) {
	if n.behaviour == Silent || peer < 0 {
		return
	}
	if at, ok := n.helped[peer]; ok && n.w.sched.now-at < gossipInterval {
		return
	}
	n.helped[peer] = n.w.sched.now
	for hh := h; hh < h+catchupBatch; hh++ {
		st, ok := n.store[hh]
		if !ok {
			return
		}
		n.w.send(n.idx, peer, message{kind: msgCatchup, block: st.block, commit: st.commit})
	}
}

// hear keeps a verified message of the current height for relaying. Silent,
// garbage-sending and lock-attacking nodes relay nothing (a lock attacker
// would leak what the attack hides); the others relay what they hear, once
// per distinct message.
func (n *node) hear(m message) {
	if n.behaviour == Silent || n.behaviour == Garbage || n.behaviour == LockAttack {
		return
	}
	key := any(m.vote)
	if m.kind == msgProposal {
		key = m.proposal
	}
	if n.heardSet[key] {
		return
	}
	n.heardSet[key] = true
	n.heard = append(n.heard, m)
}

// verifyVote checks a vote's signature once per message: every node is
// delivered the same *types.Vote (again when it is retransmitted or
// relayed), and the result cannot differ between them, so the simulator
// need not pay for many verifications of one vote.
func (w *world) verifyVote(vals *types.ValidatorSet, v *types.Vote) error {
	return w.verifyOnce(v, func() error { return types.VerifyVote(chainID, vals, v) })
}

// verifyProposal checks a proposal's signature by the proposer of its round
// once per message, as verifyVote does for votes.
func (w *world) verifyProposal(vals *types.ValidatorSet, p *types.Proposal) error {
	return w.verifyOnce(p, func() error { return types.VerifyProposal(chainID, vals.ProposerForRound(p.Round), p) })
}

func (w *world) verifyOnce(msg any, verify func() error) error {
	if err, ok := w.verified[msg]; ok {
		return err
	}
	err := verify()
	w.verified[msg] = err
	return err
}
