package consensus

import (
	"testing"

	"github.com/bftnode/bftnode/types"
)

// Tests of what the core refuses, equivocation, validity end to end, and a
// node that only follows.

func TestStepRefusesBadEvents(t *testing.T) {
	a := blockID("A")
	t.Run("events before StartHeight", func(t *testing.T) {
		s := New(types.Address{}, testTimeouts())
		_, err := s.Step(TimeoutFired{Height: 1, Round: 0, Step: StepPropose})
		wantErr(t, err, ErrNotStarted)
	})
	t.Run("bad StartHeight", func(t *testing.T) {
		f, _ := newFixture(t, 0, four...)
		for _, ev := range []StartHeight{
			{Height: testHeight + 1},
			{Height: testHeight + 1, Validators: &types.ValidatorSet{}}, // no validators, no proposer
			{Height: testHeight, Validators: f.vals},
			{Height: testHeight - 1, Validators: f.vals},
		} {
			_, err := f.s.Step(ev)
			wantErr(t, err, ErrInvalidMessage)
		}
		f.wantState(0, StepPropose, nilID, -1)
	})
	self := nonProposerIndex(t, []int32{0}, four...)
	t.Run("votes from unknown validators are refused and not counted", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		f.timeout(0, StepPropose)
		o := f.others(3)
		stranger := newTestValidators(t, 1, 1, 1, 1, 1).Validators[4].Address
		bad := []*types.Vote{
			func() *types.Vote { v := f.vote(types.PrevoteType, 0, 0, nilID); v.ValidatorIndex = 4; return v }(),
			func() *types.Vote { v := f.vote(types.PrevoteType, 0, 0, nilID); v.ValidatorIndex = -1; return v }(),
			func() *types.Vote {
				v := f.vote(types.PrevoteType, o[0], 0, nilID)
				v.ValidatorAddress = stranger
				return v
			}(),
			func() *types.Vote { // right address, someone else's index
				v := f.vote(types.PrevoteType, o[0], 0, nilID)
				v.ValidatorIndex = o[1]
				return v
			}(),
		}
		for i, v := range bad {
			acts, err := f.s.Step(VoteReceived{Vote: v, Now: f.now})
			wantErr(t, err, ErrUnknownValidator)
			if len(acts) != 0 {
				t.Fatalf("refused vote %d gave %+v", i, acts)
			}
		}
		// Had any counted, two genuine nil prevotes would make 2f+1.
		wantNoVote(t, f.prevotes(0, nilID, o[0], o[2]))
		f.wantState(0, StepPrevote, nilID, -1)
		wantVote(t, f.prevotes(0, nilID, o[1]), types.PrecommitType, 0, nilID)
	})
	t.Run("malformed votes and proposals", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		badVotes := []*types.Vote{
			nil,
			func() *types.Vote { v := f.vote(types.ProposalType, 1, 0, a); return v }(),
			func() *types.Vote { v := f.vote(types.PrevoteType, 1, 0, a); v.Round = -1; return v }(),
		}
		for _, v := range badVotes {
			_, err := f.s.Step(VoteReceived{Vote: v, Now: f.now})
			wantErr(t, err, ErrInvalidMessage)
		}
		badProposals := []*types.Proposal{
			nil,
			{Height: testHeight, Round: 0, POLRound: -1},              // nil block
			{Height: testHeight, Round: 1, POLRound: 1, BlockID: a},   // POL round not below round
			{Height: testHeight, Round: 1, POLRound: -2, BlockID: a},  // POL round below -1
			{Height: testHeight, Round: -1, POLRound: -1, BlockID: a}, // negative round
		}
		for _, p := range badProposals {
			_, err := f.s.Step(ProposalReceived{Proposal: p, Now: f.now})
			wantErr(t, err, ErrInvalidMessage)
		}
		_, err := f.s.Step(CommitReceived{Commit: &types.Commit{Height: testHeight}, Now: f.now})
		wantErr(t, err, ErrInvalidMessage)
		_, err = f.s.Step(nil)
		wantErr(t, err, ErrInvalidMessage)
		f.block(a, true)
		wantVote(t, f.propose(0, -1, a), types.PrevoteType, 0, a) // none of it stuck
	})
	t.Run("messages of another height are ignored", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		o := f.others(3)
		for _, h := range []int64{testHeight - 1, testHeight + 1} {
			for _, i := range o {
				v := f.vote(types.PrecommitType, i, 3, a)
				v.Height = h
				if acts := f.step(VoteReceived{Vote: v, Now: f.now}); len(acts) != 0 {
					t.Fatalf("height-%d vote gave %+v", h, acts)
				}
			}
			p := &types.Proposal{Height: h, Round: 0, POLRound: -1, BlockID: a}
			f.step(ProposalReceived{Proposal: p, Now: f.now})
		}
		f.block(a, true)
		f.wantState(0, StepPropose, nilID, -1)
	})
}

func TestEquivocation(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	self := nonProposerIndex(t, []int32{0}, four...)
	t.Run("a second different vote is reported as evidence and not counted twice", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		wantVote(t, f.timeout(0, StepPropose), types.PrevoteType, 0, nilID)
		o := f.others(3)
		first := f.vote(types.PrevoteType, o[0], 0, a)
		second := f.vote(types.PrevoteType, o[0], 0, b)
		if acts := f.step(VoteReceived{Vote: first, Now: f.now}); len(acts) != 0 {
			t.Fatalf("first vote gave %+v", acts)
		}
		acts := f.step(VoteReceived{Vote: second, Now: f.now})
		evs := actionsOf[ReportEvidence](acts)
		if len(evs) != 1 || evs[0].Evidence.VoteA != first || evs[0].Evidence.VoteB != second {
			t.Fatalf("want evidence (first, second), got %+v", acts)
		}
		// The same vote again is a duplicate, not evidence.
		if acts := f.step(VoteReceived{Vote: f.vote(types.PrevoteType, o[0], 0, a), Now: f.now}); len(actionsOf[ReportEvidence](acts)) != 0 {
			t.Fatalf("duplicate vote reported as evidence: %+v", acts)
		}
		// o[0] and o[1] are 2 of 4: no 2f+1 prevotes for anything yet,
		// however o[0]'s two votes are counted.
		wantNoTimeout(t, f.prevotes(0, nilID, o[1]))
		wantTimeout(t, f.prevotes(0, nilID, o[2]), StepPrevote, 0)
	})
	t.Run("an equivocator alone does not make f+1 for a round skip", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		o := f.others(3)
		f.prevotes(3, a, o[0])
		acts := f.prevotes(3, b, o[0])
		if len(actionsOf[ReportEvidence](acts)) != 1 {
			t.Fatalf("want evidence, got %+v", acts)
		}
		f.precommits(3, nilID, o[0])
		f.wantState(0, StepPropose, nilID, -1)
	})
	t.Run("precommits: evidence, and one validator's two precommits never decide", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		f.block(a, true)
		o := f.others(3)
		f.precommits(0, a, o[0], o[1])
		acts := f.precommits(0, nilID, o[0])
		if len(actionsOf[ReportEvidence](acts)) != 1 {
			t.Fatalf("want evidence, got %+v", acts)
		}
		wantNoDecide(t, acts)
		wantNoDecide(t, f.precommits(0, a, o[0]))
		wantDecide(t, f.precommits(0, a, o[2]), 0, a)
	})
}

func TestValidityEndToEnd(t *testing.T) {
	// A Byzantine majority prevotes and precommits an invalid block: a
	// correct validator prevotes nil, never locks it, never decides it.
	a := blockID("A")
	for _, powers := range [][]int64{four, weighted} {
		f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1}, powers...), powers...)
		f.propose(0, -1, a)
		wantVote(t, f.block(a, false), types.PrevoteType, 0, nilID)
		wantNoVote(t, f.prevotes(0, a, f.others(3)...))
		wantNoDecide(t, f.precommits(0, a, f.others(3)...))
		wantNoDecide(t, f.timeout(0, StepPrecommit))
		rs := f.s.RoundState()
		if rs.Decided || !rs.LockedValue.IsNil() || !rs.ValidValue.IsNil() || rs.Round != 1 {
			t.Fatalf("powers %v: state after an invalid polka: %+v", powers, rs)
		}
	}
}

func TestFollowerNeverVotes(t *testing.T) {
	a := blockID("A")
	vals := newTestValidators(t, four...)
	s := New(types.Address{}, testTimeouts())
	f := &fixture{t: t, vals: vals, self: -1, s: s, now: testT0}
	var acts []Action
	acts = append(acts, f.step(StartHeight{Height: testHeight, Validators: vals, Now: f.now})...)
	acts = append(acts, f.propose(0, -1, a)...)
	acts = append(acts, f.block(a, true)...)
	acts = append(acts, f.timeout(0, StepPropose)...)
	acts = append(acts, f.prevotes(0, a, 0, 1, 2)...)
	acts = append(acts, f.precommits(0, a, 0, 1, 2)...)
	if n := len(actionsOf[SignVote](acts)) + len(actionsOf[SignProposal](acts)) + len(actionsOf[RequestValue](acts)); n != 0 {
		t.Fatalf("a follower asked to sign or propose %d times: %+v", n, acts)
	}
	wantDecide(t, acts, 0, a)
}
