package privval

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/bftnode/bftnode/types"
)

func TestAlongsideSeesTheSignedVoteAndBothFinish(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	v := vote(pv, types.PrevoteType, 4, 0, "A", t0)
	var seen []byte
	if err := pv.SignVoteAlongside(chainID, v, func() error {
		seen = bytes.Clone(v.Signature)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || !bytes.Equal(seen, v.Signature) {
		t.Fatalf("alongside saw signature %x, the vote has %x", seen, v.Signature)
	}
	if got := reload(t, p).LastSigned(); got != (HRS{4, 0, StepPrevote}) {
		t.Fatalf("saved state = %v, want height 4 prevote", got)
	}
	// The same request again runs alongside too (it may log the vote).
	calls := 0
	again := vote(pv, types.PrevoteType, 4, 0, "A", t0)
	if err := pv.SignVoteAlongside(chainID, again, func() error { calls++; return nil }); err != nil || calls != 1 {
		t.Fatalf("identical request: %v, alongside ran %d times", err, calls)
	}
}

func TestAlongsideIsNotRunForARefusal(t *testing.T) {
	pv := genPV(t, newPaths(t))
	mustSign(t, pv, vote(pv, types.PrecommitType, 5, 0, "A", t0))
	for name, v := range map[string]*types.Vote{
		"below":    vote(pv, types.PrevoteType, 5, 0, "A", t0),
		"conflict": vote(pv, types.PrecommitType, 5, 0, "B", t0),
	} {
		err := pv.SignVoteAlongside(chainID, v, func() error {
			t.Errorf("%s: alongside ran for a refused vote", name)
			return nil
		})
		if !errors.Is(err, ErrDoubleSign) || v.Signature != nil {
			t.Fatalf("%s: %v with signature %x; want ErrDoubleSign and none", name, err, v.Signature)
		}
		if got := errors.Is(err, ErrSignedPast); got != (name == "below") {
			t.Fatalf("%s: errors.Is(err, ErrSignedPast) = %v", name, got)
		}
	}
	prop := &types.Proposal{Height: 5, Round: 0, POLRound: -1, BlockID: blockID("A"), Timestamp: t0}
	if err := pv.SignProposalAlongside(chainID, prop, func() error {
		t.Error("alongside ran for a refused proposal")
		return nil
	}); !errors.Is(err, ErrSignedPast) || prop.Signature != nil {
		t.Fatalf("proposal below: %v with signature %x", err, prop.Signature)
	}
}

func TestAlongsideOrSaveFailureReleasesNoSignature(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	mustSign(t, pv, vote(pv, types.PrevoteType, 1, 0, "A", t0))
	errWAL := errors.New("wal failed")

	// alongside fails, the save succeeds: no signature, but the state
	// moved on (it is durable), so the same vote gets the same signature.
	v := vote(pv, types.PrecommitType, 1, 0, "A", t0)
	if err := pv.SignVoteAlongside(chainID, v, func() error { return errWAL }); !errors.Is(err, errWAL) || v.Signature != nil {
		t.Fatalf("SignVoteAlongside = %v with signature %x; want errWAL and none", err, v.Signature)
	}
	if got := reload(t, p).LastSigned(); got != (HRS{1, 0, StepPrecommit}) {
		t.Fatalf("saved state = %v, want height 1 precommit", got)
	}

	// The save fails (the state file became a directory): alongside ran and
	// was waited for, no signature, the state did not move.
	if err := os.Remove(p.state); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.state, 0o700); err != nil {
		t.Fatal(err)
	}
	ran := false
	prop := &types.Proposal{Height: 2, Round: 0, POLRound: -1, BlockID: blockID("A"), Timestamp: t0}
	err := pv.SignProposalAlongside(chainID, prop, func() error { ran = true; return nil })
	if err == nil || prop.Signature != nil || !ran {
		t.Fatalf("SignProposalAlongside = %v with signature %x, alongside ran: %v; want an error, none, true", err, prop.Signature, ran)
	}
	if got := pv.LastSigned(); got != (HRS{1, 0, StepPrecommit}) {
		t.Fatalf("in-memory state advanced to %v without being saved", got)
	}
}
