package consensus

import (
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Tests of deciding (line 49), round skipping (line 55) and the timeouts
// (lines 57-65).

func TestL49Decide(t *testing.T) {
	a := blockID("A")
	tests := []struct {
		name   string
		powers []int64
		run    func(t *testing.T, f *fixture)
	}{
		{"2f+1 precommits for the proposal in the current round: decide with a commit", four, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			f.block(a, true)
			o := f.others(3)
			wantNoDecide(t, f.precommits(0, a, o[0], o[1]))
			f.precommits(0, nilID, f.self)
			d := wantDecide(t, f.precommits(0, a, o[2]), 0, a)
			if !f.s.RoundState().Decided {
				t.Fatal("RoundState().Decided is false after Decide")
			}
			for i, sig := range d.Commit.Signatures {
				want := types.BlockIDFlagCommit
				if int32(i) == f.self {
					want = types.BlockIDFlagNil
				}
				if sig.Flag != want || sig.ValidatorAddress != f.vals.Validators[i].Address {
					t.Fatalf("commit slot %d: flag %v address %X, want flag %v address %X", i, sig.Flag, sig.ValidatorAddress[:4], want, f.vals.Validators[i].Address[:4])
				}
			}
		}},
		{"decide in an earlier round r < round, from block and precommits", four, func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			f.timeout(1, StepPrecommit)
			f.wantState(2, StepPropose, nilID, -1)
			acts := f.precommits(0, a, f.others(3)...)
			wantNoDecide(t, acts) // the block is not here
			acts = f.step(ValueReceived{Height: testHeight, BlockID: a, Now: f.now})
			wantNoDecide(t, acts)
			if vv := actionsOf[ValidateValue](acts); len(vv) != 1 || vv[0].BlockID != a {
				t.Fatalf("want the block sent to validation, got %+v", acts)
			}
			wantDecide(t, f.step(ValidityChecked{Height: testHeight, BlockID: a, Valid: true, Now: f.now}), 0, a)
		}},
		{"weighted: precommits of 4 of 6 do not decide, 5 of 6 do", weighted, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			f.block(a, true)
			o := f.others(3) // powers 3, 1, 1
			wantNoDecide(t, f.precommits(0, a, o[0], o[1]))
			wantDecide(t, f.precommits(0, a, o[2]), 0, a)
		}},
		{"an invalid block is never decided", four, func(t *testing.T, f *fixture) {
			f.propose(0, -1, a)
			wantVote(t, f.block(a, false), types.PrevoteType, 0, nilID)
			f.prevotes(0, a, f.others(3)...)
			wantNoDecide(t, f.precommits(0, a, f.others(3)...))
			wantNoDecide(t, f.timeout(0, StepPrecommit))
			wantNoDecide(t, f.step(CommitReceived{Commit: &types.Commit{Height: testHeight, Round: 0, BlockID: a}, Now: f.now}))
			rs := f.s.RoundState()
			if rs.Decided || rs.LockedRound != -1 || rs.ValidRound != -1 {
				t.Fatalf("invalid block moved the state: %+v", rs)
			}
		}},
		{"a verified commit decides as a whole (CommitReceived)", four, func(t *testing.T, f *fixture) {
			c := &types.Commit{Height: testHeight, Round: 3, BlockID: a}
			wantNoDecide(t, f.step(CommitReceived{Commit: c, Now: f.now}))
			d := wantDecide(t, f.block(a, true), 3, a)
			if d.Commit != c {
				t.Fatalf("Decide carries %p, want the received commit %p", d.Commit, c)
			}
		}},
		{"after deciding, nothing fires until the next height resets the state", four, func(t *testing.T, f *fixture) {
			f.lockOn(0, a, f.others(3)...)
			wantDecide(t, f.precommits(0, a, f.others(3)...), 0, a)
			for _, ev := range []Event{
				TimeoutFired{Height: testHeight, Round: 0, Step: StepPrecommit, Now: f.now},
				VoteReceived{Vote: f.vote(types.PrevoteType, f.others(1)[0], 5, nilID), Now: f.now},
				VoteReceived{Vote: f.vote(types.PrecommitType, f.others(2)[1], 5, nilID), Now: f.now},
			} {
				if acts := f.step(ev); len(acts) != 0 {
					t.Fatalf("%T after Decide gave %+v", ev, acts)
				}
			}
			f.step(StartHeight{Height: testHeight + 1, Validators: f.vals, Now: f.now})
			rs := f.s.RoundState()
			want := RoundState{Height: testHeight + 1, Round: 0, Step: StepPropose, LockedRound: -1, ValidRound: -1}
			if rs != want {
				t.Fatalf("next height starts at %+v, want %+v", rs, want)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1, 2}, tc.powers...), tc.powers...)
			tc.run(t, f)
		})
	}
}

func TestL55SkipRound(t *testing.T) {
	a := blockID("A")
	tests := []struct {
		name   string
		powers []int64
		run    func(t *testing.T, f *fixture)
	}{
		{"by power, not count: two light validators (2 of 6) do not skip, the heavy one (3 of 6) does", weighted, func(t *testing.T, f *fixture) {
			o := f.others(3) // powers 3, 1, 1
			acts := f.prevotes(3, nilID, o[1], o[2])
			if len(acts) != 0 {
				t.Fatalf("2 of 6 power in round 3 gave %+v", acts)
			}
			f.wantState(0, StepPropose, nilID, -1)
			acts = f.precommits(3, a, o[0])
			wantTimeout(t, acts, StepPropose, 3)
			f.wantState(3, StepPropose, nilID, -1)
		}},
		{"a validator's prevote and precommit count once", four, func(t *testing.T, f *fixture) {
			o := f.others(3)
			f.prevotes(2, nilID, o[0])
			f.precommits(2, nilID, o[0])
			f.wantState(0, StepPropose, nilID, -1)
			wantTimeout(t, f.prevotes(2, nilID, o[1]), StepPropose, 2)
			f.wantState(2, StepPropose, nilID, -1)
		}},
		{"messages of lower rounds do not move the round", four, func(t *testing.T, f *fixture) {
			f.timeout(0, StepPrecommit)
			f.timeout(1, StepPrecommit)
			if acts := f.prevotes(1, nilID, f.others(3)[:2]...); len(acts) != 0 {
				t.Fatalf("round-1 votes at round 2 gave %+v", acts)
			}
			f.wantState(2, StepPropose, nilID, -1)
		}},
		{"jump to the highest round with f+1", four, func(t *testing.T, f *fixture) {
			o := f.others(3)
			f.prevotes(5, nilID, o[0])
			f.prevotes(2, nilID, o[1]) // f+1 in neither round yet
			f.wantState(0, StepPropose, nilID, -1)
			f.prevotes(5, nilID, o[1])
			f.wantState(5, StepPropose, nilID, -1)
		}},
		{"after skipping, a proposal already held for that round is prevoted", four, func(t *testing.T, f *fixture) {
			f.block(a, true)
			f.propose(4, -1, a)
			o := f.others(3)
			f.prevotes(4, a, o[0])
			wantVote(t, f.prevotes(4, a, o[1]), types.PrevoteType, 4, a)
			f.wantState(4, StepPrevote, nilID, -1)
		}},
		{"votes beyond MaxRoundsAhead are dropped", four, func(t *testing.T, f *fixture) {
			if acts := f.prevotes(MaxRoundsAhead+1, nilID, f.others(3)...); len(acts) != 0 {
				t.Fatalf("far-future votes gave %+v", acts)
			}
			f.wantState(0, StepPropose, nilID, -1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 4}, tc.powers...), tc.powers...)
			tc.run(t, f)
		})
	}
}

func TestTimeouts57to65(t *testing.T) {
	a := blockID("A")
	self := nonProposerIndex(t, []int32{0, 1}, four...)
	t.Run("propose timeout at (h, r, propose) prevotes nil", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		wantVote(t, f.timeout(0, StepPropose), types.PrevoteType, 0, nilID)
		f.wantState(0, StepPrevote, nilID, -1)
	})
	t.Run("prevote timeout at (h, r, prevote) precommits nil, even when locked", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		f.lockOn(0, a, f.others(3)...)
		f.timeout(0, StepPrecommit)
		f.timeout(1, StepPropose)
		wantVote(t, f.timeout(1, StepPrevote), types.PrecommitType, 1, nilID)
		f.wantState(1, StepPrecommit, a, 0)
	})
	t.Run("precommit timeout starts round r+1 with a longer propose timeout", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		var prev time.Duration
		for r := range int32(6) {
			acts := f.timeout(r, StepPrecommit)
			wantTimeout(t, acts, StepPropose, r+1)
			d := actionsOf[ScheduleTimeout](acts)[0].Duration
			if d <= prev {
				t.Fatalf("round %d propose timeout %v, not longer than %v", r+1, d, prev)
			}
			prev = d
			f.wantState(r+1, StepPropose, nilID, -1)
		}
	})
	t.Run("stale timeouts do nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			ev   TimeoutFired
		}{
			{"earlier round", TimeoutFired{Height: testHeight, Round: 0, Step: StepPropose}},
			{"earlier round precommit", TimeoutFired{Height: testHeight, Round: 0, Step: StepPrecommit}},
			{"later round", TimeoutFired{Height: testHeight, Round: 2, Step: StepPrecommit}},
			{"earlier height", TimeoutFired{Height: testHeight - 1, Round: 1, Step: StepPrecommit}},
			{"later height", TimeoutFired{Height: testHeight + 1, Round: 1, Step: StepPropose}},
			{"propose timeout at step prevote", TimeoutFired{Height: testHeight, Round: 1, Step: StepPropose}},
			{"prevote timeout at step prevote of another round", TimeoutFired{Height: testHeight, Round: 0, Step: StepPrevote}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f, _ := newFixture(t, self, four...)
				f.timeout(0, StepPrecommit)
				f.timeout(1, StepPropose) // now at round 1, step prevote
				before := f.s.RoundState()
				if acts := f.step(tc.ev); len(acts) != 0 {
					t.Fatalf("stale %+v gave %+v", tc.ev, acts)
				}
				if after := f.s.RoundState(); after != before {
					t.Fatalf("stale %+v moved %+v to %+v", tc.ev, before, after)
				}
			})
		}
	})
	t.Run("prevote timeout at step propose does nothing", func(t *testing.T) {
		f, _ := newFixture(t, self, four...)
		if acts := f.timeout(0, StepPrevote); len(acts) != 0 {
			t.Fatalf("got %+v", acts)
		}
		f.wantState(0, StepPropose, nilID, -1)
	})
}

func TestTimeoutsFor(t *testing.T) {
	to := Timeouts{
		Propose: 3 * time.Second, ProposeDelta: time.Second,
		Prevote: 2 * time.Second, PrevoteDelta: 500 * time.Millisecond,
		Precommit: time.Second, PrecommitDelta: 250 * time.Millisecond,
	}
	tests := []struct {
		step Step
		r    int32
		want time.Duration
	}{
		{StepPropose, 0, 3 * time.Second},
		{StepPropose, 4, 7 * time.Second},
		{StepPrevote, 0, 2 * time.Second},
		{StepPrevote, 3, 3500 * time.Millisecond},
		{StepPrecommit, 0, time.Second},
		{StepPrecommit, 8, 3 * time.Second},
	}
	for _, tc := range tests {
		if got := to.For(tc.step, tc.r); got != tc.want {
			t.Errorf("For(%s, %d) = %v, want %v", tc.step, tc.r, got, tc.want)
		}
	}
	d := DefaultTimeouts()
	for _, st := range []Step{StepPropose, StepPrevote, StepPrecommit} {
		if d.For(st, 0) <= 0 || d.For(st, 1) <= d.For(st, 0) {
			t.Errorf("default %s timeout does not grow: %v then %v", st, d.For(st, 0), d.For(st, 1))
		}
	}
}
