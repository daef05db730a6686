package node

import (
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/types"
)

// observedCore decorates the consensus core the engine steps (through
// engine.Deps.WrapCore): after each event the core accepts, it publishes on
// the event bus what CometBFT's consensus publishes at that point
// (NewRoundStep, Vote, Polka, Lock, …), translated by consensusEvents. It
// runs on the engine goroutine; publishing never blocks.
type observedCore struct {
	engine.Core
	bus *eventbus.Bus
	tr  consensusEvents
}

func newObservedCore(c engine.Core, bus *eventbus.Bus) *observedCore {
	return &observedCore{Core: c, bus: bus}
}

func (c *observedCore) Step(ev consensus.Event) ([]consensus.Action, error) {
	before := c.Core.RoundState()
	acts, err := c.Core.Step(ev)
	if err != nil {
		return acts, err
	}
	for _, e := range c.tr.observe(ev, acts, before, c.Core.RoundState(), c.bus.Wants) {
		c.bus.Publish(e)
	}
	return acts, nil
}

// observeCore returns a WrapCore that puts observedCore around what wrap
// (nil for none) makes of the core.
func observeCore(wrap func(*consensus.State) engine.Core, bus *eventbus.Bus) func(*consensus.State) engine.Core {
	return func(s *consensus.State) engine.Core {
		var c engine.Core = s
		if wrap != nil {
			c = wrap(s)
		}
		return newObservedCore(c, bus)
	}
}

// consensusEvents turns the core's steps into CometBFT's consensus events.
// The core reports no thresholds, so the translator counts what it needs
// itself: the prevotes of each round (Polka), and which proposals have
// their whole block (CompleteProposal). Locks and valid values come from
// comparing the core's position before and after a step.
type consensusEvents struct {
	height int64
	vals   *types.ValidatorSet
	// prevotes is the power prevoting each block ID (zero: nil) by round,
	// counting a validator's first prevote of a round only, as the core's
	// vote keeper does; voted holds who was counted.
	prevotes map[int32]map[types.BlockID]int64
	voted    map[voteKey]bool
	polka    map[int32]bool
	// proposals are the proposed block IDs by round, complete the block IDs
	// whose whole block is here, announced the rounds whose
	// CompleteProposal was published.
	proposals map[int32]types.BlockID
	complete  map[types.BlockID]bool
	announced map[int32]bool
}

type voteKey struct {
	val   types.Address
	round int32
}

// stepName is CometBFT's name of a core step.
func stepName(s consensus.Step) string {
	switch s {
	case consensus.StepPropose:
		return eventbus.StepPropose
	case consensus.StepPrevote:
		return eventbus.StepPrevote
	case consensus.StepPrecommit:
		return eventbus.StepPrecommit
	}
	return eventbus.StepNewHeight
}

// observe returns the events of one accepted step, which moved the core
// from before to after with actions acts; wants says which event types
// anyone reads.
func (t *consensusEvents) observe(ev consensus.Event, acts []consensus.Action, before, after consensus.RoundState, wants func(string) bool) []eventbus.Event {
	var out []eventbus.Event
	emit := func(typ string, rs eventbus.RoundState, fill func(*eventbus.Event)) {
		if !wants(typ) {
			return
		}
		e := eventbus.ConsensusEvent(typ)
		if fill != nil {
			fill(&e)
		} else {
			e.Round = &rs
		}
		out = append(out, e)
	}
	pos := func(rs consensus.RoundState, step string) eventbus.RoundState {
		return eventbus.RoundState{Height: rs.Height, Round: rs.Round, Step: step}
	}
	switch e := ev.(type) {
	case consensus.StartHeight:
		if t.vals != nil && t.vals.Hash() != e.Validators.Hash() {
			updates := validatorUpdates(t.vals, e.Validators)
			emit(eventbus.EventValidatorSetUpdates, eventbus.RoundState{}, func(ev *eventbus.Event) { ev.ValidatorUpdates = updates })
		}
		t.reset(e.Height, e.Validators)
	case consensus.TimeoutFired:
		switch e.Step {
		case consensus.StepPropose:
			emit(eventbus.EventTimeoutPropose, pos(before, eventbus.StepPropose), nil)
		case consensus.StepPrevote:
			emit(eventbus.EventTimeoutWait, pos(before, eventbus.StepPrevoteWait), nil)
		case consensus.StepPrecommit:
			emit(eventbus.EventTimeoutWait, pos(before, eventbus.StepPrecommitWait), nil)
		}
	case consensus.VoteReceived:
		v := e.Vote
		emit(eventbus.EventVote, eventbus.RoundState{}, func(ev *eventbus.Event) { ev.Vote = v })
		if t.countPrevote(v) {
			emit(eventbus.EventPolka, eventbus.RoundState{Height: v.Height, Round: v.Round, Step: stepName(after.Step)}, nil)
		}
	case consensus.ProposalReceived:
		if p := e.Proposal; p.Height == t.height {
			t.proposals[p.Round] = p.BlockID
		}
	case consensus.ValueReceived:
		if e.Height == t.height {
			t.complete[e.BlockID] = true
		}
	case consensus.ValueReady:
		if e.Height == t.height {
			t.complete[e.BlockID] = true
		}
	}
	for r, id := range t.proposals {
		if t.complete[id] && !t.announced[r] {
			t.announced[r] = true
			rs := eventbus.RoundState{Height: t.height, Round: r, Step: stepName(after.Step), BlockID: id}
			emit(eventbus.EventCompleteProposal, rs, nil)
		}
	}
	sameHeight := before.Height == after.Height
	if sameHeight && after.LockedRound != before.LockedRound {
		switch {
		case after.LockedRound < 0:
			emit(eventbus.EventUnlock, pos(after, stepName(after.Step)), nil)
		case before.LockedRound >= 0 && after.LockedValue == before.LockedValue:
			emit(eventbus.EventRelock, pos(after, stepName(after.Step)), nil)
		default:
			emit(eventbus.EventLock, pos(after, stepName(after.Step)), nil)
		}
	}
	if sameHeight && after.ValidRound != before.ValidRound && after.ValidRound >= 0 {
		emit(eventbus.EventValidBlock, pos(after, stepName(after.Step)), nil)
	}
	if !sameHeight || after.Round != before.Round {
		emit(eventbus.EventNewRoundStep, pos(after, eventbus.StepNewRound), nil)
		if t.vals != nil {
			rs := pos(after, eventbus.StepNewRound)
			p := t.vals.ProposerForRound(after.Round)
			rs.Proposer = p.Address
			rs.ProposerIndex, _ = t.vals.ByAddress(p.Address)
			emit(eventbus.EventNewRound, rs, nil)
		}
	}
	if !sameHeight || after.Round != before.Round || after.Step != before.Step {
		emit(eventbus.EventNewRoundStep, pos(after, stepName(after.Step)), nil)
	}
	// A prevote or precommit timeout scheduled (L34, L47) is CometBFT's
	// wait step.
	for _, a := range acts {
		if st, ok := a.(consensus.ScheduleTimeout); ok && st.Height == after.Height && st.Round == after.Round {
			switch st.Step {
			case consensus.StepPrevote:
				emit(eventbus.EventNewRoundStep, pos(after, eventbus.StepPrevoteWait), nil)
			case consensus.StepPrecommit:
				emit(eventbus.EventNewRoundStep, pos(after, eventbus.StepPrecommitWait), nil)
			}
		}
	}
	if after.Decided && (!before.Decided || !sameHeight) {
		emit(eventbus.EventNewRoundStep, pos(after, eventbus.StepCommit), nil)
	}
	return out
}

func (t *consensusEvents) reset(h int64, vals *types.ValidatorSet) {
	t.height, t.vals = h, vals
	t.prevotes = map[int32]map[types.BlockID]int64{}
	t.voted = map[voteKey]bool{}
	t.polka = map[int32]bool{}
	t.proposals = map[int32]types.BlockID{}
	t.complete = map[types.BlockID]bool{}
	t.announced = map[int32]bool{}
}

// countPrevote counts a prevote of the current height and reports whether
// it gave its round its first polka: more than 2/3 of the power prevoting
// one block, or nil.
func (t *consensusEvents) countPrevote(v *types.Vote) bool {
	if v.Type != types.PrevoteType || v.Height != t.height || t.vals == nil {
		return false
	}
	k := voteKey{val: v.ValidatorAddress, round: v.Round}
	_, val := t.vals.ByAddress(v.ValidatorAddress)
	if val == nil || t.voted[k] {
		return false
	}
	t.voted[k] = true
	byID := t.prevotes[v.Round]
	if byID == nil {
		byID = map[types.BlockID]int64{}
		t.prevotes[v.Round] = byID
	}
	byID[v.BlockID] += val.VotingPower
	if t.polka[v.Round] || byID[v.BlockID]*3 <= t.vals.TotalVotingPower()*2 {
		return false
	}
	t.polka[v.Round] = true
	return true
}

// validatorUpdates lists the validators of next whose power differs from
// prev's, and prev's that next lacks with power 0: the updates that turned
// one set into the other.
func validatorUpdates(prev, next *types.ValidatorSet) []*types.Validator {
	var out []*types.Validator
	for _, v := range next.Validators {
		if _, old := prev.ByAddress(v.Address); old == nil || old.VotingPower != v.VotingPower {
			out = append(out, v)
		}
	}
	for _, v := range prev.Validators {
		if _, now := next.ByAddress(v.Address); now == nil {
			gone := *v
			gone.VotingPower = 0
			out = append(out, &gone)
		}
	}
	return out
}
