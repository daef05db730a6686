package consensus

import (
	"testing"

	"github.com/bftnode/bftnode/types"
)

// Tests of the rules fired by prevote and precommit quorums: lines 34, 36,
// 44 and 47.

// weighted is a set where one validator (index 0) holds half the power:
// 2f+1 needs more than 4 of 6, f+1 more than 2 of 6.
var weighted = []int64{1, 1, 1, 3}

func TestL34PrevoteTimeout(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"2f+1 prevotes for anything at step prevote schedule timeoutPrevote once", func(t *testing.T, f *fixture) {
			wantVote(t, f.timeout(0, StepPropose), types.PrevoteType, 0, nilID)
			o := f.others(3) // powers 3, 1, 1
			wantNoTimeout(t, f.prevotes(0, a, o[0]))
			wantNoTimeout(t, f.prevotes(0, nilID, o[1])) // 4 of 6
			acts := f.prevotes(0, b, o[2])               // 5 of 6, split three ways
			wantTimeout(t, acts, StepPrevote, 0)
			wantNoVote(t, acts)
			f.wantState(0, StepPrevote, nilID, -1)
			wantNoTimeout(t, f.prevotes(0, nilID, f.self)) // not a second time
		}},
		{"2f+1 prevotes at step propose wait for the step to become prevote", func(t *testing.T, f *fixture) {
			o := f.others(3)
			wantNoTimeout(t, f.prevotes(0, a, o[0]))
			wantNoTimeout(t, f.prevotes(0, b, o[1], o[2]))
			acts := f.timeout(0, StepPropose)
			wantVote(t, acts, types.PrevoteType, 0, nilID)
			wantTimeout(t, acts, StepPrevote, 0)
		}},
		{"f+1 prevotes are not enough", func(t *testing.T, f *fixture) {
			f.timeout(0, StepPropose)
			o := f.others(3)
			wantNoTimeout(t, f.prevotes(0, a, o[1], o[2]))
		}},
		{"prevotes of another round do not count", func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			f.timeout(1, StepPropose)
			wantNoTimeout(t, f.prevotes(0, a, f.others(3)...))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1}, weighted...), weighted...)
			tc.run(t, f)
		})
	}
}

func TestL36Lock(t *testing.T) {
	a := blockID("A")
	tests := []struct {
		name   string
		powers []int64
		run    func(t *testing.T, f *fixture)
	}{
		{"polka for the proposal at step prevote: lock, precommit v, valid value", four, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			wantVote(t, f.block(a, true), types.PrevoteType, 0, a)
			o := f.others(3)
			wantNoVote(t, f.prevotes(0, a, o[0], o[1]))
			f.wantState(0, StepPrevote, nilID, -1)
			wantVote(t, f.prevotes(0, a, o[2]), types.PrecommitType, 0, a)
			f.wantState(0, StepPrecommit, a, 0)
			f.wantValid(a, 0)
			wantNoVote(t, f.prevotes(0, a, f.self)) // for the first time only
		}},
		{"weighted: 4 of 6 is no polka, 5 of 6 is", weighted, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			f.block(a, true)
			o := f.others(3) // powers 3, 1, 1
			wantNoVote(t, f.prevotes(0, a, o[0], o[1]))
			f.wantState(0, StepPrevote, nilID, -1)
			wantVote(t, f.prevotes(0, a, o[2]), types.PrecommitType, 0, a)
			f.wantState(0, StepPrecommit, a, 0)
		}},
		{"polka at step precommit: valid value only, no lock, no precommit", four, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			f.block(a, true)
			wantVote(t, f.timeout(0, StepPrevote), types.PrecommitType, 0, nilID)
			wantNoVote(t, f.prevotes(0, a, f.others(3)...))
			f.wantState(0, StepPrecommit, nilID, -1)
			f.wantValid(a, 0)
		}},
		{"polka before the proposal: lock when the proposal and block arrive", four, func(t *testing.T, f *fixture) {
			wantVote(t, f.timeout(0, StepPropose), types.PrevoteType, 0, nilID)
			wantNoVote(t, f.prevotes(0, a, f.others(3)...))
			f.wantState(0, StepPrevote, nilID, -1)
			wantNoVote(t, f.propose(0, -1, a)) // block not here yet
			wantVote(t, f.block(a, true), types.PrecommitType, 0, a)
			f.wantState(0, StepPrecommit, a, 0)
		}},
		{"polka for an invalid value: no lock, no precommit", four, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			wantVote(t, f.block(a, false), types.PrevoteType, 0, nilID)
			wantNoVote(t, f.prevotes(0, a, f.others(3)...))
			f.wantState(0, StepPrevote, nilID, -1)
			f.wantValid(nilID, -1)
		}},
		{"a proposal with a POL round (the * of L36) locks too", four, func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			f.block(a, true)
			f.propose(1, 0, a) // its round-0 polka never arrives
			wantVote(t, f.timeout(1, StepPropose), types.PrevoteType, 1, nilID)
			wantVote(t, f.prevotes(1, a, f.others(3)...), types.PrecommitType, 1, a)
			f.wantState(1, StepPrecommit, a, 1)
			f.wantValid(a, 1)
		}},
		{"polka for another value than the round's proposal: no lock", four, func(t *testing.T, f *fixture) {
			b := blockID("B")
			f.propose(0, -1, a)
			f.block(a, true)
			f.block(b, true)
			acts := f.prevotes(0, b, f.others(3)...)
			wantNoVote(t, acts)
			f.wantState(0, StepPrevote, nilID, -1)
			f.wantValid(nilID, -1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1}, tc.powers...), tc.powers...)
			tc.run(t, f)
		})
	}
}

func TestL44NilPrecommit(t *testing.T) {
	tests := []struct {
		name   string
		powers []int64
		run    func(t *testing.T, f *fixture)
	}{
		{"2f+1 nil prevotes at step prevote: precommit nil, lock unchanged", four, func(t *testing.T, f *fixture) {
			f.timeout(0, StepPropose)
			o := f.others(3)
			wantNoVote(t, f.prevotes(0, nilID, o[0], o[1]))
			wantVote(t, f.prevotes(0, nilID, o[2]), types.PrecommitType, 0, nilID)
			f.wantState(0, StepPrecommit, nilID, -1)
		}},
		{"a locked validator precommits nil and keeps its lock", four, func(t *testing.T, f *fixture) {
			a := blockID("A")
			f.lockOn(0, a, f.others(3)...)
			f.timeout(0, StepPrecommit)
			f.propose(1, -1, blockID("B"))
			wantVote(t, f.prevotes(1, nilID, f.others(3)...), types.PrecommitType, 1, nilID)
			f.wantState(1, StepPrecommit, a, 0)
		}},
		{"2f+1 nil prevotes at step propose: nothing until the propose timeout, then prevote and precommit nil", four, func(t *testing.T, f *fixture) {
			wantNoVote(t, f.prevotes(0, nilID, f.others(3)...))
			acts := f.timeout(0, StepPropose)
			vs := actionsOf[SignVote](acts)
			if len(vs) != 2 || vs[0].Vote.Type != types.PrevoteType || vs[1].Vote.Type != types.PrecommitType ||
				!vs[0].Vote.BlockID.IsNil() || !vs[1].Vote.BlockID.IsNil() {
				t.Fatalf("want prevote nil then precommit nil, got %+v", vs)
			}
			f.wantState(0, StepPrecommit, nilID, -1)
		}},
		{"weighted: nil from 4 of 6 is not enough, 5 of 6 is", weighted, func(t *testing.T, f *fixture) {
			f.timeout(0, StepPropose)
			o := f.others(3)
			wantNoVote(t, f.prevotes(0, nilID, o[0], o[1]))
			wantVote(t, f.prevotes(0, nilID, o[2]), types.PrecommitType, 0, nilID)
		}},
		{"only at step prevote: no nil precommit after precommitting", four, func(t *testing.T, f *fixture) {
			f.timeout(0, StepPropose)
			f.timeout(0, StepPrevote)
			wantNoVote(t, f.prevotes(0, nilID, f.others(3)...))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1}, tc.powers...), tc.powers...)
			tc.run(t, f)
		})
	}
}

func TestL47PrecommitTimeout(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"2f+1 split precommits schedule timeoutPrecommit once, in any step", func(t *testing.T, f *fixture) {
			o := f.others(3) // powers 3, 1, 1
			wantNoTimeout(t, f.precommits(0, a, o[0]))
			wantNoTimeout(t, f.precommits(0, nilID, o[1]))
			acts := f.precommits(0, b, o[2])
			wantTimeout(t, acts, StepPrecommit, 0)
			wantNoDecide(t, acts)
			f.wantState(0, StepPropose, nilID, -1)
			acts = f.timeout(0, StepPropose)
			wantVote(t, acts, types.PrevoteType, 0, nilID)
			if ts := actionsOf[ScheduleTimeout](acts); len(ts) != 0 {
				t.Fatalf("precommit timeout scheduled again: %+v", ts)
			}
		}},
		{"f+1 precommits are not enough", func(t *testing.T, f *fixture) {
			o := f.others(3)
			wantNoTimeout(t, f.precommits(0, a, o[0]))
		}},
		{"precommits of an earlier round do not schedule", func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			o := f.others(3)
			wantNoTimeout(t, f.precommits(0, nilID, o[0], o[1], o[2]))
		}},
		{"the timeout's round grows its duration", func(t *testing.T, f *fixture) {
			for r := range int32(3) {
				f.timeout(r, StepPrecommit)
			}
			wantTimeout(t, f.precommits(3, nilID, f.others(3)...), StepPrecommit, 3)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1, 2, 3}, weighted...), weighted...)
			tc.run(t, f)
		})
	}
}
