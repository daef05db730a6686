package consensus

import (
	"errors"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Errors returned by Step for events the core refuses. The caller drops the
// message (and may lower the sending peer's score); the state is unchanged.
var (
	ErrNotStarted       = errors.New("consensus: no height started")
	ErrUnknownValidator = errors.New("consensus: vote from a validator not in the set")
	ErrInvalidMessage   = errors.New("consensus: invalid message")
)

// MaxRoundsAhead bounds how far above the current round votes and proposals
// are kept, so a Byzantine validator cannot make the core hold messages for
// unboundedly many rounds.
const MaxRoundsAhead = 1000

// validity is what is known of valid(v) for a block.
type validity uint8

const (
	validityUnknown validity = iota
	validityPending          // ValidateValue was emitted, answer not back yet
	validityValid
	validityInvalid
)

// value is what the core knows of one block ID at this height.
type value struct {
	complete bool // the whole block is available
	validity validity
}

// State is the pure Tendermint state machine of one validator (or of a
// non-validator that follows consensus): Algorithm 1 of "The latest gossip
// on BFT consensus". It does no I/O and reads no clock; see Step.
type State struct {
	timeouts Timeouts
	self     types.Address

	height int64
	round  int32
	step   Step
	vals   *types.ValidatorSet

	lockedValue types.BlockID
	lockedRound int32
	validValue  types.BlockID
	validRound  int32
	decided     bool
	// proposedRound is the last round this node asked to sign a proposal
	// for (-1 for none), so it never signs two proposals for one round.
	proposedRound int32

	proposals map[int32]*types.Proposal
	// commit is a verified commit for this height (CommitReceived), the
	// first one delivered.
	commit *types.Commit
	values map[types.BlockID]*value
	votes  *voteKeeper

	// "for the first time" guards of L34, L36 and L47, by round.
	prevoteTimeoutDone   map[int32]bool
	validValueDone       map[int32]bool
	precommitTimeoutDone map[int32]bool

	out []Action
}

// New returns a core for the validator with address self (the zero address
// for a node that only follows). Nothing happens until StartHeight.
func New(self types.Address, timeouts Timeouts) *State {
	return &State{self: self, timeouts: timeouts}
}

// RoundState is a read-only view of the core's position, for logs, metrics
// and RPC.
type RoundState struct {
	Height      int64
	Round       int32
	Step        Step
	LockedValue types.BlockID
	LockedRound int32
	ValidValue  types.BlockID
	ValidRound  int32
	Decided     bool
}

// RoundState returns the current position.
func (s *State) RoundState() RoundState {
	return RoundState{
		Height: s.height, Round: s.round, Step: s.step,
		LockedValue: s.lockedValue, LockedRound: s.lockedRound,
		ValidValue: s.validValue, ValidRound: s.validRound,
		Decided: s.decided,
	}
}

// Validators returns the validator set of the current height.
func (s *State) Validators() *types.ValidatorSet { return s.vals }

// Step feeds one event to the core and returns the actions to carry out, in
// order. An error means the event was refused and nothing changed.
func (s *State) Step(ev Event) ([]Action, error) {
	s.out = nil
	if _, ok := ev.(StartHeight); !ok && s.vals == nil {
		return nil, ErrNotStarted
	}
	var now time.Time
	switch e := ev.(type) {
	case StartHeight:
		if e.Validators == nil || e.Validators.Size() == 0 || e.Validators.Proposer() == nil {
			return nil, fmt.Errorf("%w: start height %d without a validator set", ErrInvalidMessage, e.Height)
		}
		if e.Height <= s.height && s.vals != nil {
			return nil, fmt.Errorf("%w: start height %d at height %d", ErrInvalidMessage, e.Height, s.height)
		}
		s.resetHeight(e.Height, e.Validators)
		now = e.Now
		s.startRound(0)
	case ProposalReceived:
		if err := s.onProposal(e.Proposal); err != nil {
			return nil, err
		}
		now = e.Now
	case ValueReceived:
		if e.Height == s.height {
			s.value(e.BlockID).complete = true
		}
		now = e.Now
	case ValueReady:
		now = e.Now
		s.onValueReady(e)
	case ValidityChecked:
		if e.Height == s.height {
			v := s.value(e.BlockID)
			v.validity = validityInvalid
			if e.Valid {
				v.validity = validityValid
			}
		}
		now = e.Now
	case VoteReceived:
		if err := s.onVote(e.Vote); err != nil {
			return nil, err
		}
		now = e.Now
	case CommitReceived:
		c := e.Commit
		if c == nil || c.BlockID.IsNil() {
			return nil, fmt.Errorf("%w: malformed commit", ErrInvalidMessage)
		}
		if c.Height == s.height && s.commit == nil {
			s.commit = c
			s.value(c.BlockID)
		}
		now = e.Now
	case TimeoutFired:
		now = e.Now
		s.onTimeout(e, now)
	default:
		return nil, fmt.Errorf("%w: unknown event %T", ErrInvalidMessage, ev)
	}
	s.evaluate(now)
	return s.out, nil
}

func (s *State) resetHeight(h int64, vals *types.ValidatorSet) {
	s.height, s.vals = h, vals
	s.round, s.step = 0, StepPropose
	s.lockedValue, s.lockedRound = types.BlockID{}, -1
	s.validValue, s.validRound = types.BlockID{}, -1
	s.decided = false
	s.proposedRound = -1
	s.proposals = map[int32]*types.Proposal{}
	s.commit = nil
	s.values = map[types.BlockID]*value{}
	s.votes = newVoteKeeper(vals)
	s.prevoteTimeoutDone = map[int32]bool{}
	s.validValueDone = map[int32]bool{}
	s.precommitTimeoutDone = map[int32]bool{}
}

func (s *State) value(id types.BlockID) *value {
	v, ok := s.values[id]
	if !ok {
		v = &value{}
		s.values[id] = v
	}
	return v
}

func (s *State) isProposer(r int32) bool {
	return s.vals.ProposerForRound(r).Address == s.self
}

func (s *State) emit(a Action) { s.out = append(s.out, a) }

// startRound is StartRound(r), line 11.
func (s *State) startRound(r int32) {
	s.round, s.step = r, StepPropose
	if s.isProposer(r) {
		if !s.validValue.IsNil() {
			// L14-L15: re-propose the valid value with its POL round.
			s.proposedRound = r
			s.emit(SignProposal{Proposal: types.Proposal{Height: s.height, Round: r, POLRound: s.validRound, BlockID: s.validValue}})
		} else {
			// L18: getValue() — ask the engine for a fresh block.
			s.emit(RequestValue{Height: s.height, Round: r})
		}
	}
	// L21 (also for the proposer, in case its own value never arrives).
	s.scheduleTimeout(StepPropose)
}

func (s *State) scheduleTimeout(step Step) {
	s.emit(ScheduleTimeout{Height: s.height, Round: s.round, Step: step, Duration: s.timeouts.For(step, s.round)})
}

func (s *State) onValueReady(e ValueReady) {
	if e.Height != s.height || e.Round != s.round || s.step != StepPropose || s.decided ||
		!s.isProposer(e.Round) || !s.validValue.IsNil() || s.proposals[e.Round] != nil || s.proposedRound == e.Round {
		return // stale, or already proposed: never sign a second proposal for a round
	}
	v := s.value(e.BlockID)
	v.complete, v.validity = true, validityValid
	s.proposedRound = e.Round
	// L19: broadcast ⟨PROPOSAL, h, round, proposal, -1⟩.
	s.emit(SignProposal{Proposal: types.Proposal{Height: s.height, Round: s.round, POLRound: -1, BlockID: e.BlockID}})
}

func (s *State) onProposal(p *types.Proposal) error {
	if p == nil || p.BlockID.IsNil() || p.Round < 0 || p.POLRound < -1 || p.POLRound >= p.Round {
		return fmt.Errorf("%w: malformed proposal", ErrInvalidMessage)
	}
	if p.Height != s.height || p.Round > s.round+MaxRoundsAhead {
		return nil // not for this height: the engine buffers or drops it
	}
	if _, ok := s.proposals[p.Round]; ok {
		return nil // keep the first proposal of a round; a second is the proposer's fault
	}
	s.proposals[p.Round] = p
	s.value(p.BlockID)
	return nil
}

func (s *State) onVote(v *types.Vote) error {
	if v == nil || (v.Type != types.PrevoteType && v.Type != types.PrecommitType) || v.Round < 0 {
		return fmt.Errorf("%w: malformed vote", ErrInvalidMessage)
	}
	if v.Height != s.height || v.Round > s.round+MaxRoundsAhead {
		return nil
	}
	val := s.vals.ByIndex(v.ValidatorIndex)
	if val == nil || val.Address != v.ValidatorAddress {
		return fmt.Errorf("%w: %X at index %d", ErrUnknownValidator, v.ValidatorAddress[:6], v.ValidatorIndex)
	}
	res, ev := s.votes.add(v, val.VotingPower)
	if res == voteConflicting {
		s.emit(ReportEvidence{Evidence: *ev})
	}
	return nil
}

// onTimeout carries out lines 57–65; a timeout for a height, round or step
// already left does nothing.
func (s *State) onTimeout(e TimeoutFired, now time.Time) {
	if e.Height != s.height || e.Round != s.round || s.decided {
		return
	}
	switch {
	case e.Step == StepPropose && s.step == StepPropose:
		s.vote(types.PrevoteType, types.BlockID{}, now) // L57-L60
		s.step = StepPrevote
	case e.Step == StepPrevote && s.step == StepPrevote:
		s.vote(types.PrecommitType, types.BlockID{}, now) // L61-L64
		s.step = StepPrecommit
	case e.Step == StepPrecommit:
		s.startRound(s.round + 1) // L65-L67
	}
}

// vote asks the engine to sign and broadcast a vote, if this node is a
// validator at this height.
func (s *State) vote(t types.SignedMsgType, id types.BlockID, now time.Time) {
	idx, val := s.vals.ByAddress(s.self)
	if val == nil {
		return
	}
	after := s.lockedValue
	if p := s.proposals[s.round]; after.IsNil() && p != nil {
		after = p.BlockID
	}
	s.emit(SignVote{After: after, Vote: types.Vote{
		Type: t, Height: s.height, Round: s.round, BlockID: id,
		Timestamp: now, ValidatorAddress: s.self, ValidatorIndex: idx,
	}})
}

// ForgetLocks erases the lock and valid value, as an amnesic validator does.
// It exists only for Byzantine tests (the simulator and the amnesia
// decorator of package internal/byzantine); a correct node never calls it.
func (s *State) ForgetLocks() {
	s.lockedValue, s.lockedRound = types.BlockID{}, -1
	s.validValue, s.validRound = types.BlockID{}, -1
}
