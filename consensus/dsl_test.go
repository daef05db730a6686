package consensus

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// This file is a small DSL for driving one State through Algorithm 1: a
// validator set with real keys (the core checks membership, not
// signatures), events built from short calls, and assertions on actions.

const testHeight = 7

var testT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testTimeouts are distinct per step so an assertion on a duration also
// checks which step's timeout it is.
func testTimeouts() Timeouts {
	return Timeouts{
		Propose: 3 * time.Second, ProposeDelta: 1 * time.Second,
		Prevote: 2 * time.Second, PrevoteDelta: 500 * time.Millisecond,
		Precommit: 1 * time.Second, PrecommitDelta: 250 * time.Millisecond,
	}
}

// newTestValidators builds a set with the given powers and deterministic
// keys. The set sorts validators by power (descending), so indexes below
// are indexes into the set, not into powers.
func newTestValidators(t testing.TB, powers ...int64) *types.ValidatorSet {
	t.Helper()
	vals := make([]*types.Validator, len(powers))
	for i, p := range powers {
		seed := sha256.Sum256(fmt.Appendf(nil, "consensus-test-validator-%d", i))
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		vals[i] = types.NewValidator(pub, p)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// fixture is one State (validator self) at testHeight, and the others'
// votes and proposals fed to it.
type fixture struct {
	t    testing.TB
	vals *types.ValidatorSet
	self int32
	s    *State
	now  time.Time
}

// newFixture starts height testHeight for the validator at index self of a
// set with the given powers, and returns the fixture and StartHeight's
// actions.
func newFixture(t testing.TB, self int32, powers ...int64) (*fixture, []Action) {
	t.Helper()
	vals := newTestValidators(t, powers...)
	f := &fixture{t: t, vals: vals, self: self, now: testT0}
	f.s = New(vals.Validators[self].Address, testTimeouts())
	acts := f.step(StartHeight{Height: testHeight, Validators: vals, Now: f.now})
	return f, acts
}

// notProposer returns the lowest index that proposes none of rounds.
func notProposer(t testing.TB, vals *types.ValidatorSet, rounds ...int32) int32 {
	t.Helper()
	for i := range int32(vals.Size()) {
		ok := true
		for _, r := range rounds {
			if vals.ProposerForRound(r).Address == vals.Validators[i].Address {
				ok = false
			}
		}
		if ok {
			return i
		}
	}
	t.Fatalf("every validator proposes one of rounds %v", rounds)
	return -1
}

// others returns n validator indexes other than self, in order.
func (f *fixture) others(n int) []int32 {
	f.t.Helper()
	var out []int32
	for i := range int32(f.vals.Size()) {
		if i != f.self && len(out) < n {
			out = append(out, i)
		}
	}
	if len(out) < n {
		f.t.Fatalf("want %d other validators, set has %d", n, f.vals.Size())
	}
	return out
}

// step feeds ev and fails the test if it is refused.
func (f *fixture) step(ev Event) []Action {
	f.t.Helper()
	acts, err := f.s.Step(ev)
	if err != nil {
		f.t.Fatalf("Step(%T): %v", ev, err)
	}
	return acts
}

func blockID(name string) types.BlockID {
	return types.BlockID{
		Hash:          sha256.Sum256([]byte("block " + name)),
		PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte("parts " + name))},
	}
}

var nilID = types.BlockID{}

func (f *fixture) vote(typ types.SignedMsgType, idx, r int32, id types.BlockID) *types.Vote {
	return &types.Vote{
		Type: typ, Height: testHeight, Round: r, BlockID: id, Timestamp: f.now,
		ValidatorAddress: f.vals.Validators[idx].Address, ValidatorIndex: idx,
		Signature: make([]byte, ed25519.SignatureSize),
	}
}

// votes feeds one vote of typ for id in round r from each of idxs and
// returns all the actions.
func (f *fixture) votes(typ types.SignedMsgType, r int32, id types.BlockID, idxs ...int32) []Action {
	f.t.Helper()
	var acts []Action
	for _, i := range idxs {
		acts = append(acts, f.step(VoteReceived{Vote: f.vote(typ, i, r, id), Now: f.now})...)
	}
	return acts
}

func (f *fixture) prevotes(r int32, id types.BlockID, idxs ...int32) []Action {
	f.t.Helper()
	return f.votes(types.PrevoteType, r, id, idxs...)
}

func (f *fixture) precommits(r int32, id types.BlockID, idxs ...int32) []Action {
	f.t.Helper()
	return f.votes(types.PrecommitType, r, id, idxs...)
}

// propose delivers the proposal of round r (as if from its proposer).
func (f *fixture) propose(r, polRound int32, id types.BlockID) []Action {
	f.t.Helper()
	p := &types.Proposal{Height: testHeight, Round: r, POLRound: polRound, BlockID: id, Timestamp: f.now, Signature: make([]byte, ed25519.SignatureSize)}
	return f.step(ProposalReceived{Proposal: p, Now: f.now})
}

// block makes the whole block id available and answers its validity check.
func (f *fixture) block(id types.BlockID, valid bool) []Action {
	f.t.Helper()
	acts := f.step(ValueReceived{Height: testHeight, BlockID: id, Now: f.now})
	return append(acts, f.step(ValidityChecked{Height: testHeight, BlockID: id, Valid: valid, Now: f.now})...)
}

func (f *fixture) timeout(r int32, st Step) []Action {
	f.t.Helper()
	return f.step(TimeoutFired{Height: testHeight, Round: r, Step: st, Now: f.now})
}

// lockOn makes self lock id in round r (which must be the current round,
// at step propose): proposal, valid block, 2f+1 prevotes from the others
// (so the others' power must reach 2f+1).
func (f *fixture) lockOn(r int32, id types.BlockID, voters ...int32) {
	f.t.Helper()
	acts := f.propose(r, -1, id)
	acts = append(acts, f.block(id, true)...)
	wantVote(f.t, acts, types.PrevoteType, r, id)
	wantVote(f.t, f.prevotes(r, id, voters...), types.PrecommitType, r, id)
	f.wantState(r, StepPrecommit, id, r)
}

// wantState checks round, step and lock.
func (f *fixture) wantState(r int32, st Step, locked types.BlockID, lockedRound int32) {
	f.t.Helper()
	rs := f.s.RoundState()
	if rs.Height != testHeight || rs.Round != r || rs.Step != st {
		f.t.Fatalf("at h=%d r=%d %s, want h=%d r=%d %s", rs.Height, rs.Round, rs.Step, testHeight, r, st)
	}
	if rs.LockedValue != locked || rs.LockedRound != lockedRound {
		f.t.Fatalf("locked %v in round %d, want %v in round %d", rs.LockedValue, rs.LockedRound, locked, lockedRound)
	}
}

// wantValid checks the valid value and round.
func (f *fixture) wantValid(id types.BlockID, r int32) {
	f.t.Helper()
	rs := f.s.RoundState()
	if rs.ValidValue != id || rs.ValidRound != r {
		f.t.Fatalf("valid value %v in round %d, want %v in round %d", rs.ValidValue, rs.ValidRound, id, r)
	}
}

// actionsOf returns the actions of type A.
func actionsOf[A Action](acts []Action) []A {
	var out []A
	for _, a := range acts {
		if x, ok := a.(A); ok {
			out = append(out, x)
		}
	}
	return out
}

// wantVote checks that acts hold exactly one SignVote, of typ for id in
// round r, and returns it.
func wantVote(t testing.TB, acts []Action, typ types.SignedMsgType, r int32, id types.BlockID) types.Vote {
	t.Helper()
	vs := actionsOf[SignVote](acts)
	if len(vs) != 1 {
		t.Fatalf("want one SignVote (%s %v round %d), got %d in %v", typ, id, r, len(vs), acts)
	}
	v := vs[0].Vote
	if v.Type != typ || v.Round != r || v.BlockID != id || v.Height != testHeight {
		t.Fatalf("SignVote is %s %v h=%d r=%d, want %s %v h=%d r=%d", v.Type, v.BlockID, v.Height, v.Round, typ, id, testHeight, r)
	}
	if len(v.Signature) != 0 {
		t.Fatalf("core vote comes signed: %x", v.Signature)
	}
	return v
}

func wantNoVote(t testing.TB, acts []Action) {
	t.Helper()
	if vs := actionsOf[SignVote](acts); len(vs) != 0 {
		t.Fatalf("want no SignVote, got %+v", vs)
	}
}

// wantTimeout checks that acts schedule exactly one timeout, of step st in
// round r, with the duration of that step and round.
func wantTimeout(t testing.TB, acts []Action, st Step, r int32) {
	t.Helper()
	ts := actionsOf[ScheduleTimeout](acts)
	if len(ts) != 1 {
		t.Fatalf("want one ScheduleTimeout(%s, round %d), got %+v", st, r, ts)
	}
	want := ScheduleTimeout{Height: testHeight, Round: r, Step: st, Duration: testTimeouts().For(st, r)}
	if ts[0] != want {
		t.Fatalf("ScheduleTimeout = %+v, want %+v", ts[0], want)
	}
}

func wantNoTimeout(t testing.TB, acts []Action) {
	t.Helper()
	if ts := actionsOf[ScheduleTimeout](acts); len(ts) != 0 {
		t.Fatalf("want no ScheduleTimeout, got %+v", ts)
	}
}

// wantDecide checks that acts decide id in round r, with a commit whose
// slots match the precommits given, and returns it.
func wantDecide(t testing.TB, acts []Action, r int32, id types.BlockID) Decide {
	t.Helper()
	ds := actionsOf[Decide](acts)
	if len(ds) != 1 {
		t.Fatalf("want one Decide(%v, round %d), got %+v", id, r, ds)
	}
	d := ds[0]
	if d.Height != testHeight || d.Round != r || d.BlockID != id {
		t.Fatalf("Decide h=%d r=%d %v, want h=%d r=%d %v", d.Height, d.Round, d.BlockID, testHeight, r, id)
	}
	if d.Commit == nil || d.Commit.Height != testHeight || d.Commit.Round != r || d.Commit.BlockID != id {
		t.Fatalf("Decide carries commit %+v for h=%d r=%d %v", d.Commit, testHeight, r, id)
	}
	return d
}

func wantNoDecide(t testing.TB, acts []Action) {
	t.Helper()
	if ds := actionsOf[Decide](acts); len(ds) != 0 {
		t.Fatalf("want no Decide, got %+v", ds)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// wantProposal checks that acts hold exactly one SignProposal, for id in
// round r with POL round pol, unsigned.
func wantProposal(t testing.TB, acts []Action, r, pol int32, id types.BlockID) {
	t.Helper()
	ps := actionsOf[SignProposal](acts)
	if len(ps) != 1 {
		t.Fatalf("want one SignProposal (round %d pol %d %v), got %+v", r, pol, id, acts)
	}
	p := ps[0].Proposal
	if p.Height != testHeight || p.Round != r || p.POLRound != pol || p.BlockID != id || len(p.Signature) != 0 {
		t.Fatalf("SignProposal %+v, want h=%d r=%d pol=%d %v unsigned", p, testHeight, r, pol, id)
	}
}
