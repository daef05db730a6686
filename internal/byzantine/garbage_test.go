package byzantine

import (
	"testing"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// Every malformation of a garbage validator is refused by the checks a
// correct engine makes first (its admission window, types.VerifyVote and
// VerifyProposal against the validator set, the block the proposal names),
// and its own messages go out as they are.
func TestGarbageIsMalformed(t *testing.T) {
	priv := testKey(1)
	vals := soleValidator(t, priv)
	rec := newRec()
	d, err := byzDeps(t, priv, priv, Garbage, rec)
	if err != nil {
		t.Fatal(err)
	}
	b, p := byzBlock(t, priv)
	v := signedVote(priv, types.PrevoteType, p.BlockID)
	for range garbageVotes {
		d.Transport.Broadcast(engine.VoteMsg{Vote: v})
	}
	for range garbageProposals {
		d.Transport.Broadcast(engine.ProposalMsg{Proposal: p, Block: b})
	}
	if len(rec.broadcast) != 2*(garbageVotes+garbageProposals) {
		t.Fatalf("broadcast %d messages, want each own one and a malformed one", len(rec.broadcast))
	}
	kinds := map[string]bool{}
	for i := 0; i < len(rec.broadcast); i += 2 {
		own, bad := rec.broadcast[i], rec.broadcast[i+1]
		if i < 2*garbageVotes && own.(engine.VoteMsg).Vote != v || i >= 2*garbageVotes && own.(engine.ProposalMsg).Proposal != p {
			t.Fatalf("message %d is not the own one: %#v", i, own)
		}
		if err := refused(vals, engine.Status{Height: 3, Round: 1}, bad); err == "" {
			t.Errorf("malformed message %d is accepted: %#v", i/2, bad)
		} else {
			kinds[err] = true
		}
	}
	t.Logf("refused for: %v", kinds)
}

// refused says why a correct engine at st refuses m ("" if it does not).
func refused(vals *types.ValidatorSet, st engine.Status, m engine.Msg) string {
	switch m := m.(type) {
	case engine.VoteMsg:
		if m.Vote == nil {
			return "no vote"
		}
		if !st.Admits(m.Vote.Height, m.Vote.Round) {
			return "outside the admission window"
		}
		if err := types.VerifyVote(testChain, vals, m.Vote); err != nil {
			return err.Error()
		}
	case engine.ProposalMsg:
		if m.Proposal == nil || m.Block == nil {
			return "no proposal or block"
		}
		if err := types.VerifyProposal(testChain, vals.ByIndex(0), m.Proposal); err != nil {
			return err.Error()
		}
		if id, err := types.MakeBlockID(m.Block); err != nil || id != m.Proposal.BlockID {
			return "the block is not the one named"
		}
		if m.Block.Header.Height != m.Proposal.Height {
			return "a block of another height"
		}
	case *engine.ProposalHeaderMsg:
		if m.Proposal == nil {
			return "no proposal"
		}
	case *engine.CommitMsg:
		if m.Block == nil || m.Commit == nil {
			return "no block or commit"
		}
	case engine.CommitMsg:
		if err := vals.VerifyCommit(testChain, m.Commit.BlockID, m.Commit.Height, m.Commit); err != nil {
			return err.Error()
		}
	}
	return ""
}
