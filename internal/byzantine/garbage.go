package byzantine

import (
	"crypto/sha256"
	"math"
	"slices"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// garbageTransport sends each own message as it is and, next to it, a
// malformed one made from it: each time the next of its kind's
// malformations (garbageVote, garbageProposal), so that a run's peers get
// them all. Those it signs, it signs with the raw key, so that only what
// is malformed in them gets them refused. None is a valid vote or proposal
// that conflicts with an own one: the mode leaves no evidence.
type garbageTransport struct {
	engine.Transport
	key   *Signer
	chain string
	// sent counts the malformed messages sent, picking the next.
	sent int
}

func (t *garbageTransport) Broadcast(msg engine.Msg) {
	t.Transport.Broadcast(msg)
	var bad engine.Msg
	switch m := msg.(type) {
	case engine.VoteMsg:
		if m.Vote == nil {
			return
		}
		bad = t.garbageVote(*m.Vote, t.sent%garbageVotes)
	case engine.ProposalMsg:
		if m.Proposal == nil || m.Block == nil {
			return
		}
		bad = t.garbageProposal(*m.Proposal, *m.Block, t.sent%garbageProposals)
	default:
		return
	}
	t.sent++
	t.Transport.Broadcast(bad)
}

// The number of malformations of each kind.
const (
	garbageVotes     = 8
	garbageProposals = 8
)

// garbageVote is malformation i of vote v.
func (t *garbageTransport) garbageVote(v types.Vote, i int) engine.Msg {
	switch i {
	case 0:
		return engine.VoteMsg{} // no vote
	case 1: // a bad signature
		v.Signature = slices.Clone(v.Signature)
		v.Signature[len(v.Signature)/2] ^= 0xff
		return engine.VoteMsg{Vote: &v}
	case 2: // a validator index and address no validator has
		v.ValidatorIndex = math.MaxInt32
		h := sha256.Sum256(v.ValidatorAddress[:])
		copy(v.ValidatorAddress[:], h[:])
	case 3: // no vote type
		v.Type = 0x7f
	case 4: // far ahead
		v.Height += 1 << 40
		v.Round = math.MaxInt32
	case 5: // a negative round
		v.Round = -2
	case 6: // a block ID with a hash but no parts
		v.BlockID = types.BlockID{Hash: sha256.Sum256(v.Signature), PartSetHeader: types.PartSetHeader{}}
	default:
		return &engine.CommitMsg{} // neither block nor commit
	}
	v.Signature = t.key.sign(types.VoteSignBytes(t.chain, &v))
	return engine.VoteMsg{Vote: &v}
}

// garbageProposal is malformation i of proposal p of block b.
func (t *garbageTransport) garbageProposal(p types.Proposal, b types.Block, i int) engine.Msg {
	switch i {
	case 0:
		return engine.ProposalMsg{} // neither proposal nor block
	case 1:
		return engine.ProposalMsg{Proposal: &p} // no block
	case 2: // a block the proposal does not name
		equivocalBlock(&b)
		return engine.ProposalMsg{Proposal: &p, Block: &b}
	case 3:
		return &engine.ProposalHeaderMsg{} // no proposal
	case 4: // a POL round after its round
		p.POLRound = p.Round + 3
	case 5: // a block of the next height, named and signed
		next, err := resigned(t.key, t.chain, engine.ProposalMsg{Proposal: &p, Block: &b}, func(b *types.Block) { b.Header.Height++ }, p.POLRound)
		if err != nil {
			return engine.ProposalMsg{Proposal: &p}
		}
		return next
	case 6: // the block with a commit that has no signature
		return engine.CommitMsg{Block: &b, Commit: &types.Commit{Height: b.Header.Height, BlockID: p.BlockID}}
	default: // a proposal signed for another chain
		p.Signature = t.key.sign(types.ProposalSignBytes(t.chain+"-other", &p))
		return engine.ProposalMsg{Proposal: &p, Block: &b}
	}
	p.Signature = t.key.sign(types.ProposalSignBytes(t.chain, &p))
	return engine.ProposalMsg{Proposal: &p, Block: &b}
}
