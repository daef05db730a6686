package consensus

import (
	"slices"
	"time"

	"github.com/bftnode/bftnode/types"
)

// evaluate applies the upon-rules of Algorithm 1 until none fires. Each rule
// fires only when it changes the state (or is guarded by a "for the first
// time" flag), so the loop ends. Checking every rule after every event means
// no rule depends on the order in which its inputs arrived.
func (s *State) evaluate(now time.Time) {
	for !s.decided && s.applyOneRule(now) {
	}
}

func (s *State) applyOneRule(now time.Time) bool {
	return s.ruleDecide() ||
		s.ruleSkipRound() ||
		s.ruleProposal(now) ||
		s.ruleProposalWithPOL(now) ||
		s.rulePrevoteTimeout() ||
		s.ruleLock(now) ||
		s.ruleNilPrecommit(now) ||
		s.rulePrecommitTimeout()
}

// validOf returns what is known of valid(id), asking the application the
// first time the block is complete.
func (s *State) validOf(id types.BlockID) validity {
	v := s.value(id)
	if v.validity == validityUnknown && v.complete {
		v.validity = validityPending
		s.emit(ValidateValue{Height: s.height, Round: s.round, BlockID: id})
	}
	return v.validity
}

// prevoteFor casts the prevote of L24/L30: id(v) when valid(v) and the lock
// allows it, else nil. It reports false while valid(v) is not known yet.
func (s *State) prevoteFor(id types.BlockID, lockAllows bool, now time.Time) bool {
	choice := types.BlockID{}
	if lockAllows {
		switch s.validOf(id) {
		case validityValid:
			choice = id
		case validityInvalid:
		default:
			return false // wait for the block or the application's answer
		}
	}
	s.vote(types.PrevoteType, choice, now)
	s.step = StepPrevote
	return true
}

// L22: upon ⟨PROPOSAL, h, round, v, -1⟩ from proposer(h, round) while
// step = propose: prevote id(v) if valid(v) ∧ (lockedRound = -1 ∨
// lockedValue = v), else nil.
func (s *State) ruleProposal(now time.Time) bool {
	p := s.proposals[s.round]
	if s.step != StepPropose || p == nil || p.POLRound != -1 {
		return false
	}
	return s.prevoteFor(p.BlockID, s.lockedRound == -1 || s.lockedValue == p.BlockID, now)
}

// L28: upon ⟨PROPOSAL, h, round, v, vr⟩ and 2f+1 ⟨PREVOTE, h, vr, id(v)⟩
// while step = propose ∧ 0 ≤ vr < round: prevote id(v) if valid(v) ∧
// (lockedRound ≤ vr ∨ lockedValue = v), else nil.
func (s *State) ruleProposalWithPOL(now time.Time) bool {
	p := s.proposals[s.round]
	if s.step != StepPropose || p == nil || p.POLRound < 0 || p.POLRound >= s.round {
		return false
	}
	if !s.votes.quorumFor(p.POLRound, types.PrevoteType, p.BlockID) {
		return false
	}
	return s.prevoteFor(p.BlockID, s.lockedRound <= p.POLRound || s.lockedValue == p.BlockID, now)
}

// L34: upon 2f+1 ⟨PREVOTE, h, round, *⟩ for the first time while
// step = prevote: schedule timeoutPrevote.
func (s *State) rulePrevoteTimeout() bool {
	if s.step != StepPrevote || s.prevoteTimeoutDone[s.round] || !s.votes.quorumAny(s.round, types.PrevoteType) {
		return false
	}
	s.prevoteTimeoutDone[s.round] = true
	s.scheduleTimeout(StepPrevote)
	return true
}

// L36: upon ⟨PROPOSAL, h, round, v, *⟩ and 2f+1 ⟨PREVOTE, h, round, id(v)⟩
// with valid(v) ∧ step ≥ prevote, for the first time: if step = prevote,
// lock v and precommit id(v); in any case validValue = v, validRound = round.
func (s *State) ruleLock(now time.Time) bool {
	p := s.proposals[s.round]
	if s.step < StepPrevote || p == nil || s.validValueDone[s.round] {
		return false
	}
	if !s.votes.quorumFor(s.round, types.PrevoteType, p.BlockID) || s.validOf(p.BlockID) != validityValid {
		return false
	}
	s.validValueDone[s.round] = true
	if s.step == StepPrevote {
		s.lockedValue, s.lockedRound = p.BlockID, s.round
		s.vote(types.PrecommitType, p.BlockID, now)
		s.step = StepPrecommit
	}
	s.validValue, s.validRound = p.BlockID, s.round
	return true
}

// L44: upon 2f+1 ⟨PREVOTE, h, round, nil⟩ while step = prevote: precommit nil.
func (s *State) ruleNilPrecommit(now time.Time) bool {
	if s.step != StepPrevote || !s.votes.quorumFor(s.round, types.PrevoteType, types.BlockID{}) {
		return false
	}
	s.vote(types.PrecommitType, types.BlockID{}, now)
	s.step = StepPrecommit
	return true
}

// L47: upon 2f+1 ⟨PRECOMMIT, h, round, *⟩ for the first time: schedule
// timeoutPrecommit.
func (s *State) rulePrecommitTimeout() bool {
	if s.precommitTimeoutDone[s.round] || !s.votes.quorumAny(s.round, types.PrecommitType) {
		return false
	}
	s.precommitTimeoutDone[s.round] = true
	s.scheduleTimeout(StepPrecommit)
	return true
}

// L49: upon ⟨PROPOSAL, h, r, v, *⟩ and 2f+1 ⟨PRECOMMIT, h, r, id(v)⟩, in any
// round r, while decision[h] = nil: if valid(v), decide v. The block itself
// stands in for the proposal: its ID binds its contents, so a node that
// missed the proposal (catching up) can decide from block and precommits.
func (s *State) ruleDecide() bool {
	if c := s.commit; c != nil && s.validOf(c.BlockID) == validityValid {
		s.decided = true
		s.emit(Decide{Height: s.height, Round: c.Round, BlockID: c.BlockID, Commit: c})
		return true
	}
	rounds := make([]int32, 0, len(s.votes.rounds))
	for r := range s.votes.rounds {
		rounds = append(rounds, r)
	}
	slices.Sort(rounds)
	for _, r := range rounds {
		id, ok := s.votes.quorumValue(r, types.PrecommitType)
		if !ok || s.validOf(id) != validityValid {
			continue
		}
		s.decided = true
		ec := s.votes.commit(s.height, r, id)
		s.emit(Decide{Height: s.height, Round: r, BlockID: id, Commit: ec.Commit, Extended: ec})
		return true
	}
	return false
}

// L55: upon f+1 ⟨*, h, r, *, *⟩ with r > round: StartRound(r).
func (s *State) ruleSkipRound() bool {
	r, ok := s.votes.highestSkipRound(s.round)
	if !ok {
		return false
	}
	s.startRound(r)
	return true
}
