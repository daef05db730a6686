package byzantine

import (
	"crypto/ed25519"
	"testing"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// TestLockAttackSplitsAndThenProposesFresh: as round-0 proposer at height 3
// with peers a, b and c, a lock attacker shows its proposal and its
// prevote for it to two (a quorum with itself), its precommit to one (the
// decider), and the third nothing; in a later round it withholds its votes
// for that value, votes for anything else in the open, and proposes a
// fresh value with no POL round, validly signed, in place of its core's.
func TestLockAttackSplitsAndThenProposesFresh(t *testing.T) {
	priv := testKey(1)
	vals := soleValidator(t, priv)
	rec := newRec()
	d, err := byzDeps(t, priv, priv, LockAttack, directTransport{rec})
	if err != nil {
		t.Fatal(err)
	}
	if d.WrapCore == nil {
		t.Fatal("no core decorator: the attacker's core would keep its locks and decide the split value")
	}
	b, p := byzBlock(t, priv)
	p.Round = 0
	p.Signature = ed25519.Sign(priv, types.ProposalSignBytes(testChain, p))
	got := func() map[string]int {
		out := map[string]int{"all": len(rec.broadcast)}
		for peer, ms := range rec.direct {
			out[peer] = len(ms)
		}
		clear(rec.direct)
		rec.broadcast = nil
		return out
	}
	want := func(what string, sent map[string]int, all, a, b, c int) {
		t.Helper()
		if sent["all"] != all || sent["a"] != a || sent["b"] != b || sent["c"] != c {
			t.Fatalf("%s: sent %v, want %d broadcast and %d, %d, %d to a, b, c", what, sent, all, a, b, c)
		}
	}
	// Height 3 of 3 peers: the split starts at a; c is left ignorant.
	d.Transport.Broadcast(engine.ProposalMsg{Proposal: p, Block: b})
	want("round-0 proposal", got(), 0, 1, 1, 0)
	vote := func(typ types.SignedMsgType, round int32, id types.BlockID) *types.Vote {
		v := signedVote(priv, typ, id)
		v.Round = round
		v.Signature = ed25519.Sign(priv, types.VoteSignBytes(testChain, v))
		return v
	}
	d.Transport.Broadcast(engine.VoteMsg{Vote: vote(types.PrevoteType, 0, p.BlockID)})
	want("round-0 prevote", got(), 0, 1, 1, 0)
	d.Transport.Broadcast(engine.VoteMsg{Vote: vote(types.PrecommitType, 0, p.BlockID)})
	want("round-0 precommit", got(), 0, 1, 0, 0)
	d.Transport.Broadcast(engine.VoteMsg{Vote: vote(types.PrevoteType, 2, p.BlockID)})
	want("later prevote for the split value", got(), 0, 0, 0, 0)
	d.Transport.Broadcast(engine.VoteMsg{Vote: vote(types.PrecommitType, 2, types.BlockID{})})
	want("later nil precommit", got(), 1, 0, 0, 0)

	later := *p
	later.Round, later.POLRound = 2, 0
	later.Signature = ed25519.Sign(priv, types.ProposalSignBytes(testChain, &later))
	d.Transport.Broadcast(engine.ProposalMsg{Proposal: &later, Block: b})
	if len(rec.broadcast) != 1 || len(rec.direct) != 0 {
		t.Fatalf("later proposal: %d broadcast, %v direct; want one broadcast", len(rec.broadcast), rec.direct)
	}
	m := rec.broadcast[0].(engine.ProposalMsg)
	if err := types.VerifyProposal(testChain, vals.ByIndex(0), m.Proposal); err != nil {
		t.Fatal(err)
	}
	if id, err := types.MakeBlockID(m.Block); err != nil || id != m.Proposal.BlockID || id == p.BlockID || m.Proposal.POLRound != -1 {
		t.Fatalf("later proposal names %v (POL round %d), its block is %v (%v); want a fresh value, not %v, with no POL round",
			m.Proposal.BlockID, m.Proposal.POLRound, id, err, p.BlockID)
	}
	if err := m.Block.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
}
