package sim

import (
	"crypto/ed25519"

	"github.com/bftnode/bftnode/types"
)

// equivocate sends one version of an own message to group A (and to the
// other Byzantine validators) and another to group B. An equivocating
// proposer shows each group its own block; votes follow the coalition's two
// blocks for the round when there are two, else group B gets a nil vote.
func (n *node) equivocate(m message) {
	a, b := m, m
	switch m.kind {
	case msgProposal:
		p := *m.proposal
		other := n.equivocated[heightRound{p.Height, p.Round}]
		if p.POLRound >= 0 {
			// The core re-proposes its valid value; group B is shown a
			// fresh block instead, which only the locking rules keep a
			// correct validator locked on the valid value from taking.
			other = n.w.buildBlock(n, p.Height, p.Round, 2, false)
			n.remember(other)
			p.POLRound = -1
		}
		if other == nil {
			n.broadcast(m)
			return
		}
		p.BlockID = blockID(other)
		p.Signature = ed25519.Sign(n.priv, types.ProposalSignBytes(chainID, &p))
		n.w.check.proposed(p.BlockID, other)
		b = message{kind: msgProposal, proposal: &p, block: other}
	case msgVote:
		va, vb := *m.vote, *m.vote
		if pair, ok := n.w.coalition[heightRound{va.Height, va.Round}]; ok {
			va.BlockID, vb.BlockID = pair[0], pair[1]
		} else {
			vb.BlockID = types.BlockID{}
		}
		a, b = message{kind: msgVote, vote: n.resign(va)}, message{kind: msgVote, vote: n.resign(vb)}
	}
	for to, peer := range n.w.nodes {
		if to == n.idx {
			continue
		}
		if !peer.isCorrect() || n.w.groupA[to] {
			n.sendTo(to, a)
		} else {
			n.sendTo(to, b)
		}
	}
}

func (n *node) resign(v types.Vote) *types.Vote {
	v.Signature = ed25519.Sign(n.priv, types.VoteSignBytes(chainID, &v))
	return &v
}

// sendGarbage sends every peer a malformed or forged variant of m, which
// the edge checks must refuse.
func (n *node) sendGarbage(m message) {
	var g message
	switch n.w.rng.IntN(5) {
	case 0: // a vote with a random signature
		v := n.someVote(m)
		v.Signature = n.randomBytes(ed25519.SignatureSize)
		g = message{kind: msgVote, vote: &v}
	case 1: // a vote signed for another chain
		v := n.someVote(m)
		v.Signature = ed25519.Sign(n.priv, types.VoteSignBytes("other-chain", &v))
		g = message{kind: msgVote, vote: &v}
	case 2: // a vote claiming a validator index that does not exist
		v := n.someVote(m)
		v.ValidatorIndex = int32(len(n.w.nodes) + n.w.rng.IntN(100))
		g = message{kind: msgVote, vote: &v}
	case 3: // a proposal whose block does not match it
		h := n.core.RoundState().Height
		p := &types.Proposal{Height: h, Round: n.core.RoundState().Round, POLRound: -1,
			BlockID: types.BlockID{Hash: types.Hash(n.randomBytes(32))}}
		p.Signature = ed25519.Sign(n.priv, types.ProposalSignBytes(chainID, p))
		g = message{kind: msgProposal, proposal: p, block: n.w.buildBlock(n, h, p.Round, 7, false)}
	default: // a catch-up block with a forged commit
		h := n.core.RoundState().Height
		b := n.w.buildBlock(n, h, 0, 8, false)
		c := &types.Commit{Height: h, BlockID: blockID(b), Signatures: make([]types.CommitSig, len(n.w.nodes))}
		for i := range c.Signatures {
			c.Signatures[i] = types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: n.w.valsAt(h).Validators[i].Address,
				Timestamp: n.now(), Signature: n.randomBytes(ed25519.SignatureSize)}
		}
		g = message{kind: msgCatchup, block: b, commit: c}
	}
	for to := range n.w.nodes {
		n.w.send(n.idx, to, g)
	}
}

// someVote is a plausible vote to corrupt: m's vote, or a prevote of the
// current round.
func (n *node) someVote(m message) types.Vote {
	if m.kind == msgVote {
		return *m.vote
	}
	rs := n.core.RoundState()
	idx, _ := n.w.valsAt(rs.Height).ByAddress(n.addr)
	return types.Vote{Type: types.PrevoteType, Height: rs.Height, Round: rs.Round, Timestamp: n.now(), ValidatorAddress: n.addr, ValidatorIndex: idx}
}

func (n *node) randomBytes(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(n.w.rng.Uint32())
	}
	return b
}
