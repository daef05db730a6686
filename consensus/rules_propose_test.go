package consensus

import (
	"testing"

	"github.com/bftnode/bftnode/types"
)

// Tests of StartRound (line 11) and the two prevote rules (lines 22, 28).

func proposerIndex(t testing.TB, r int32, powers ...int64) int32 {
	t.Helper()
	vals := newTestValidators(t, powers...)
	idx, _ := vals.ByAddress(vals.ProposerForRound(r).Address)
	return idx
}

// nonProposerIndex is a validator that proposes none of rounds.
func nonProposerIndex(t testing.TB, rounds []int32, powers ...int64) int32 {
	t.Helper()
	return notProposer(t, newTestValidators(t, powers...), rounds...)
}

var four = []int64{1, 1, 1, 1}

func TestL11StartRound(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"non-proposer schedules timeoutPropose(0) and waits", func(t *testing.T) {
			f, acts := newFixture(t, nonProposerIndex(t, []int32{0}, four...), four...)
			if len(acts) != 1 {
				t.Fatalf("StartHeight actions %+v, want only the propose timeout", acts)
			}
			wantTimeout(t, acts, StepPropose, 0)
			f.wantState(0, StepPropose, nilID, -1)
			f.wantValid(nilID, -1)
		}},
		{"proposer without a valid value asks for a fresh one (L18) and proposes it with POL -1 (L19)", func(t *testing.T) {
			f, acts := newFixture(t, proposerIndex(t, 0, four...), four...)
			if len(acts) != 2 || acts[0] != (RequestValue{Height: testHeight, Round: 0}) {
				t.Fatalf("StartHeight actions %+v, want RequestValue then the propose timeout", acts)
			}
			wantTimeout(t, acts, StepPropose, 0)
			acts = f.step(ValueReady{Height: testHeight, Round: 0, BlockID: a, Now: f.now})
			wantProposal(t, acts, 0, -1, a)
			// Its own value is valid by construction: once the signed
			// proposal comes back, it prevotes it without asking the app.
			acts = f.propose(0, -1, a)
			wantVote(t, acts, types.PrevoteType, 0, a)
			if n := len(actionsOf[ValidateValue](acts)); n != 0 {
				t.Fatalf("own value sent to validation %d times", n)
			}
		}},
		{"proposer never signs a second proposal for a round", func(t *testing.T) {
			f, _ := newFixture(t, proposerIndex(t, 0, four...), four...)
			f.step(ValueReady{Height: testHeight, Round: 0, BlockID: a, Now: f.now})
			if acts := f.step(ValueReady{Height: testHeight, Round: 0, BlockID: b, Now: f.now}); len(actionsOf[SignProposal](acts)) != 0 {
				t.Fatalf("second ValueReady gave %+v", acts)
			}
		}},
		{"stale ValueReady (other round or height) is ignored", func(t *testing.T) {
			f, _ := newFixture(t, proposerIndex(t, 0, four...), four...)
			for _, ev := range []ValueReady{
				{Height: testHeight, Round: 1, BlockID: a},
				{Height: testHeight + 1, Round: 0, BlockID: a},
				{Height: testHeight - 1, Round: 0, BlockID: a},
			} {
				if acts := f.step(ev); len(acts) != 0 {
					t.Fatalf("ValueReady %+v gave %+v", ev, acts)
				}
			}
		}},
		{"proposer with a valid value re-proposes it with its valid round (L15)", func(t *testing.T) {
			vals := newTestValidators(t, four...)
			self := int32(-1)
			for i := range int32(4) {
				if vals.ProposerForRound(1).Address == vals.Validators[i].Address && vals.ProposerForRound(0).Address != vals.Validators[i].Address {
					self = i
				}
			}
			if self < 0 {
				t.Fatal("round 1 has the proposer of round 0")
			}
			f, _ := newFixture(t, self, four...)
			f.lockOn(0, a, f.others(3)...)
			acts := f.timeout(0, StepPrecommit)
			if len(acts) != 2 {
				t.Fatalf("round 1 actions %+v, want a proposal and the propose timeout", acts)
			}
			wantProposal(t, acts, 1, 0, a)
			wantTimeout(t, acts, StepPropose, 1)
			if n := len(actionsOf[RequestValue](acts)); n != 0 {
				t.Fatalf("asked for a fresh value although a valid one is known")
			}
		}},
		{"weighted set: the heaviest validator proposes round 0", func(t *testing.T) {
			powers := []int64{1, 1, 1, 3}
			vals := newTestValidators(t, powers...)
			if vals.Validators[0].VotingPower != 3 || proposerIndex(t, 0, powers...) != 0 {
				t.Fatalf("proposer of round 0 is index %d", proposerIndex(t, 0, powers...))
			}
			_, acts := newFixture(t, 0, powers...)
			if len(actionsOf[RequestValue](acts)) != 1 {
				t.Fatalf("heaviest validator did not ask for a value: %+v", acts)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestL22Proposal(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	self := nonProposerIndex(t, []int32{0, 1, 2}, four...)
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"valid fresh value, not locked: waits for block and app, then prevotes v", func(t *testing.T, f *fixture) {
			wantNoVote(t, f.propose(0, -1, a))
			acts := f.step(ValueReceived{Height: testHeight, BlockID: a, Now: f.now})
			wantNoVote(t, acts)
			if vv := actionsOf[ValidateValue](acts); len(vv) != 1 || vv[0] != (ValidateValue{Height: testHeight, Round: 0, BlockID: a}) {
				t.Fatalf("want one ValidateValue for A, got %+v", acts)
			}
			f.wantState(0, StepPropose, nilID, -1)
			wantVote(t, f.step(ValidityChecked{Height: testHeight, BlockID: a, Valid: true, Now: f.now}), types.PrevoteType, 0, a)
			f.wantState(0, StepPrevote, nilID, -1)
		}},
		{"invalid value: prevote nil", func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			wantVote(t, f.block(a, false), types.PrevoteType, 0, nilID)
			f.wantState(0, StepPrevote, nilID, -1)
		}},
		{"block and verdict before the proposal: prevote at once", func(t *testing.T, f *fixture) {
			wantNoVote(t, f.block(a, true))
			wantVote(t, f.propose(0, -1, a), types.PrevoteType, 0, a)
		}},
		{"locked on A, fresh B: prevote nil without waiting for B", func(t *testing.T, f *fixture) {
			f.lockOn(0, a, f.others(3)...)
			f.timeout(0, StepPrecommit)
			acts := f.propose(1, -1, b)
			wantVote(t, acts, types.PrevoteType, 1, nilID)
			f.wantState(1, StepPrevote, a, 0)
		}},
		{"locked on A, fresh A again: prevote A", func(t *testing.T, f *fixture) {
			f.lockOn(0, a, f.others(3)...)
			f.timeout(0, StepPrecommit)
			wantVote(t, f.propose(1, -1, a), types.PrevoteType, 1, a)
		}},
		{"proposal with a POL round is not L22: no prevote without its polka", func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			f.block(a, true)
			wantNoVote(t, f.propose(1, 0, a))
			wantVote(t, f.timeout(1, StepPropose), types.PrevoteType, 1, nilID)
		}},
		{"only while step = propose: a late proposal gets no second prevote", func(t *testing.T, f *fixture) {
			wantVote(t, f.timeout(0, StepPropose), types.PrevoteType, 0, nilID)
			f.block(a, true)
			wantNoVote(t, f.propose(0, -1, a))
		}},
		{"proposal of a future round is kept until that round starts", func(t *testing.T, f *fixture) {
			f.block(a, true)
			wantNoVote(t, f.propose(2, -1, a))
			f.timeout(0, StepPrecommit)
			wantVote(t, f.timeout(1, StepPrecommit), types.PrevoteType, 2, a)
		}},
		{"first proposal of a round wins; a second is ignored", func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			f.propose(0, -1, b)
			f.block(b, true)
			wantVote(t, f.block(a, true), types.PrevoteType, 0, a)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, self, four...)
			tc.run(t, f)
		})
	}
}

func TestL28ProposalWithPOL(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	self := nonProposerIndex(t, []int32{0, 1, 2}, four...)
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"not locked: proposal with a polka in vr is prevoted once the polka is complete", func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			f.block(a, true)
			o := f.others(3)
			wantNoVote(t, f.propose(1, 0, a))
			wantNoVote(t, f.prevotes(0, a, o[0], o[1])) // f+1 is not a polka
			wantVote(t, f.prevotes(0, a, o[2]), types.PrevoteType, 1, a)
			f.wantState(1, StepPrevote, nilID, -1)
		}},
		{"locked on A in round 0, polka for B in round 1: unlock (lockedRound <= vr) and prevote B", func(t *testing.T, f *fixture) {
			o := f.others(3)
			f.lockOn(0, a, o...)
			f.timeout(0, StepPrecommit)
			f.timeout(1, StepPrecommit)
			f.prevotes(1, b, o...)
			f.block(b, true)
			wantVote(t, f.propose(2, 1, b), types.PrevoteType, 2, b)
			f.wantState(2, StepPrevote, a, 0)
			// The round-2 polka for B moves the lock (L36).
			wantVote(t, f.prevotes(2, b, o...), types.PrecommitType, 2, b)
			f.wantState(2, StepPrecommit, b, 2)
			f.wantValid(b, 2)
		}},
		{"locked on A in round 0, polka for B in the same round 0 (equivocators): lockedRound = vr unlocks", func(t *testing.T, f *fixture) {
			o := f.others(3)
			f.lockOn(0, a, o...)
			f.prevotes(0, b, o...) // each is evidence, and counts for B
			f.timeout(0, StepPrecommit)
			f.block(b, true)
			wantVote(t, f.propose(1, 0, b), types.PrevoteType, 1, b)
		}},
		{"locked on A in round 1, polka for B in older round 0: stay locked, prevote nil", func(t *testing.T, f *fixture) {
			o := f.others(3)
			f.prevotes(0, b, o...) // no round-0 proposal: no lock on B
			f.timeout(0, StepPrecommit)
			f.lockOn(1, a, o...)
			f.timeout(1, StepPrecommit)
			f.block(b, true)
			wantVote(t, f.propose(2, 0, b), types.PrevoteType, 2, nilID)
			f.wantState(2, StepPrevote, a, 1)
		}},
		{"locked on A in round 1, polka for A in round 0: lockedValue = v, prevote A", func(t *testing.T, f *fixture) {
			o := f.others(3)
			f.prevotes(0, a, o...)
			f.timeout(0, StepPrecommit)
			f.lockOn(1, a, o...)
			f.timeout(1, StepPrecommit)
			wantVote(t, f.propose(2, 0, a), types.PrevoteType, 2, a)
		}},
		{"polka for an invalid value: prevote nil", func(t *testing.T, f *fixture) {
			f.prevotes(0, a, f.others(3)...)
			f.timeout(0, StepPrecommit)
			f.propose(1, 0, a)
			wantVote(t, f.block(a, false), types.PrevoteType, 1, nilID)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, self, four...)
			tc.run(t, f)
		})
	}
	t.Run("weighted polka (powers 1,1,1,3): 4 of 6 is not a polka, 5 of 6 is", func(t *testing.T) {
		powers := []int64{1, 1, 1, 3}
		f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1}, powers...), powers...)
		if f.vals.Validators[f.self].VotingPower != 1 {
			t.Fatalf("self has power %d, want 1", f.vals.Validators[f.self].VotingPower)
		}
		f.timeout(0, StepPrecommit)
		f.block(a, true)
		f.propose(1, 0, a)
		o := f.others(3) // index 0 (power 3) and two of power 1
		wantNoVote(t, f.prevotes(0, a, o[0], o[1]))
		wantVote(t, f.prevotes(0, a, o[2]), types.PrevoteType, 1, a)
	})
}
