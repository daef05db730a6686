package consensus

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// A randomized check of the core's safety obligations: one State is fed
// seeded random sequences of votes, proposals, blocks, verdicts and
// timeouts (its own votes come back, as the engine does), and every action
// is checked against what the paper allows given the messages fed so far.

type propertyRun struct {
	t     *testing.T
	f     *fixture
	rng   *rand.Rand
	ids   []types.BlockID
	valid map[types.BlockID]bool
	// power behind each (round, type, value) among the messages fed, with
	// each validator counted once per value (as the paper counts messages).
	seen  map[string]map[int32]bool
	sent  map[string]bool // own (type, round) votes signed
	props map[int32]bool  // rounds with an own proposal signed
	asked map[types.BlockID]bool

	lastRound   int32
	lastStep    Step
	lockedRound int32
	lockedValue types.BlockID
	proposals   map[int32]*types.Proposal // the first proposal fed per round
	decided     int
}

func (p *propertyRun) key(typ types.SignedMsgType, r int32, id types.BlockID) string {
	return fmt.Sprintf("%d/%d/%v", typ, r, id)
}

func (p *propertyRun) power(typ types.SignedMsgType, r int32, id types.BlockID) int64 {
	var sum int64
	for i := range p.seen[p.key(typ, r, id)] {
		sum += p.f.vals.Validators[i].VotingPower
	}
	return sum
}

func (p *propertyRun) quorum(typ types.SignedMsgType, r int32, id types.BlockID) bool {
	return p.power(typ, r, id)*3 > p.f.vals.TotalVotingPower()*2
}

// feed steps ev, feeds own votes back, and checks every action.
func (p *propertyRun) feed(ev Event) {
	p.t.Helper()
	if vr, ok := ev.(VoteReceived); ok {
		v := vr.Vote
		k := p.key(v.Type, v.Round, v.BlockID)
		if p.seen[k] == nil {
			p.seen[k] = map[int32]bool{}
		}
		p.seen[k][v.ValidatorIndex] = true
	}
	if pr, ok := ev.(ProposalReceived); ok && p.proposals[pr.Proposal.Round] == nil {
		p.proposals[pr.Proposal.Round] = pr.Proposal
	}
	acts := p.f.step(ev)
	for _, a := range acts {
		p.check(a)
	}
	p.checkState()
	for _, a := range acts {
		if sv, ok := a.(SignVote); ok {
			v := sv.Vote
			p.feed(VoteReceived{Vote: &v, Now: p.f.now})
		}
	}
}

func (p *propertyRun) check(a Action) {
	t := p.t
	t.Helper()
	rs := p.f.s.RoundState()
	switch a := a.(type) {
	case SignVote:
		v := a.Vote
		k := fmt.Sprintf("%d/%d", v.Type, v.Round)
		if p.sent[k] {
			t.Fatalf("signed a second %s in round %d", v.Type, v.Round)
		}
		p.sent[k] = true
		if v.ValidatorIndex != p.f.self || v.Height != testHeight {
			t.Fatalf("own vote with index %d height %d", v.ValidatorIndex, v.Height)
		}
		if v.BlockID.IsNil() {
			return
		}
		if !p.valid[v.BlockID] {
			t.Fatalf("%s for %v, which is not valid", v.Type, v.BlockID)
		}
		if v.Type == types.PrecommitType && !p.quorum(types.PrevoteType, v.Round, v.BlockID) {
			t.Fatalf("precommit for %v in round %d without a polka", v.BlockID, v.Round)
		}
		if v.Type == types.PrevoteType && p.lockedRound >= 0 && v.BlockID != p.lockedValue {
			// L28: only a polka at least as recent as the lock releases it.
			pr := p.proposals[v.Round]
			if pr == nil || pr.BlockID != v.BlockID || pr.POLRound < p.lockedRound || !p.quorum(types.PrevoteType, pr.POLRound, v.BlockID) {
				t.Fatalf("locked on %v in round %d, prevoted %v in round %d (proposal %+v)", p.lockedValue, p.lockedRound, v.BlockID, v.Round, pr)
			}
		}
	case SignProposal:
		if p.props[a.Proposal.Round] {
			t.Fatalf("signed a second proposal for round %d", a.Proposal.Round)
		}
		p.props[a.Proposal.Round] = true
		if a.Proposal.POLRound >= 0 && !p.quorum(types.PrevoteType, a.Proposal.POLRound, a.Proposal.BlockID) {
			t.Fatalf("re-proposed %v with POL round %d without a polka there", a.Proposal.BlockID, a.Proposal.POLRound)
		}
	case Decide:
		p.decided++
		if p.decided > 1 {
			t.Fatal("decided twice at one height")
		}
		if !p.valid[a.BlockID] || !p.quorum(types.PrecommitType, a.Round, a.BlockID) {
			t.Fatalf("decided %v in round %d: valid %v, precommit power %d", a.BlockID, a.Round, p.valid[a.BlockID], p.power(types.PrecommitType, a.Round, a.BlockID))
		}
	case ScheduleTimeout:
		if a.Height != testHeight || a.Duration != testTimeouts().For(a.Step, a.Round) || a.Round > rs.Round {
			t.Fatalf("ScheduleTimeout %+v at round %d", a, rs.Round)
		}
	case ValidateValue:
		if p.asked[a.BlockID] {
			t.Fatalf("asked twice to validate %v", a.BlockID)
		}
		p.asked[a.BlockID] = true
	}
}

func (p *propertyRun) checkState() {
	t := p.t
	t.Helper()
	rs := p.f.s.RoundState()
	if rs.Decided {
		return
	}
	if rs.Round < p.lastRound || rs.Round == p.lastRound && rs.Step < p.lastStep {
		t.Fatalf("moved back from round %d %s to round %d %s", p.lastRound, p.lastStep, rs.Round, rs.Step)
	}
	if rs.LockedRound < p.lockedRound {
		t.Fatalf("lock went back from round %d to %d", p.lockedRound, rs.LockedRound)
	}
	if rs.LockedRound >= 0 && !p.quorum(types.PrevoteType, rs.LockedRound, rs.LockedValue) {
		t.Fatalf("locked %v in round %d without a polka", rs.LockedValue, rs.LockedRound)
	}
	if rs.ValidRound >= 0 && !p.quorum(types.PrevoteType, rs.ValidRound, rs.ValidValue) {
		t.Fatalf("valid value %v in round %d without a polka", rs.ValidValue, rs.ValidRound)
	}
	p.lastRound, p.lastStep, p.lockedRound, p.lockedValue = rs.Round, rs.Step, rs.LockedRound, rs.LockedValue
}

// randomEvent draws the next input. Validator `byz` may equivocate; the
// others vote at most once per round and type.
func (p *propertyRun) randomEvent(byz int32, voted map[string]bool) Event {
	f, rng := p.f, p.rng
	rs := f.s.RoundState()
	round := func() int32 { return max(0, rs.Round-1+rng.Int32N(4)) }
	pick := func() types.BlockID {
		if rng.IntN(4) == 0 {
			return nilID
		}
		return p.ids[rng.IntN(len(p.ids))]
	}
	switch n := rng.IntN(20); {
	case n < 12:
		typ := types.PrevoteType
		if rng.IntN(2) == 0 {
			typ = types.PrecommitType
		}
		i, r := rng.Int32N(int32(f.vals.Size())), round()
		if i == f.self {
			return nil
		}
		k := fmt.Sprintf("%d/%d/%d", i, typ, r)
		if voted[k] && i != byz {
			return nil
		}
		voted[k] = true
		return VoteReceived{Vote: f.vote(typ, i, r, pick()), Now: f.now}
	case n < 14:
		r := round()
		pol := int32(-1)
		if r > 0 && rng.IntN(2) == 0 {
			pol = rng.Int32N(r)
		}
		return ProposalReceived{Proposal: &types.Proposal{Height: testHeight, Round: r, POLRound: pol, BlockID: p.ids[rng.IntN(len(p.ids))]}, Now: f.now}
	case n < 15 && f.s.isProposer(rs.Round):
		// The engine's fresh block (valid by construction), maybe twice.
		return ValueReady{Height: testHeight, Round: rs.Round, BlockID: p.ids[2*rng.IntN(2)], Now: f.now}
	case n < 16:
		return ValueReceived{Height: testHeight, BlockID: p.ids[rng.IntN(len(p.ids))], Now: f.now}
	case n < 17:
		// Answer one outstanding validity question.
		for _, id := range p.ids {
			if p.asked[id] && !voted["answered "+id.String()] {
				voted["answered "+id.String()] = true
				return ValidityChecked{Height: testHeight, BlockID: id, Valid: p.valid[id], Now: f.now}
			}
		}
		return nil
	default:
		r := rs.Round
		if rng.IntN(4) == 0 {
			r = round()
		}
		return TimeoutFired{Height: testHeight, Round: r, Step: Step(1 + rng.IntN(3)), Now: f.now}
	}
}

func TestRandomSequencesKeepSafety(t *testing.T) {
	sets := [][]int64{four, weighted, {1, 2, 3, 4, 5, 6, 7}}
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for _, powers := range sets {
		for seed := range uint64(seeds) {
			t.Run(fmt.Sprintf("%v/seed=%d", powers, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(len(powers))))
				vals := newTestValidators(t, powers...)
				self := rng.Int32N(int32(vals.Size()))
				f, _ := newFixture(t, self, powers...)
				p := &propertyRun{
					t: t, f: f, rng: rng,
					ids:   []types.BlockID{blockID("A"), blockID("B"), blockID("C")},
					valid: map[types.BlockID]bool{blockID("A"): true, blockID("B"): rng.IntN(2) == 0, blockID("C"): true},
					seen:  map[string]map[int32]bool{}, sent: map[string]bool{}, props: map[int32]bool{},
					asked: map[types.BlockID]bool{}, lockedRound: -1, proposals: map[int32]*types.Proposal{},
				}
				byz := rng.Int32N(int32(vals.Size()))
				voted := map[string]bool{}
				for range 400 {
					if ev := p.randomEvent(byz, voted); ev != nil {
						p.feed(ev)
					}
					if p.decided > 0 {
						break
					}
				}
			})
		}
	}
}
