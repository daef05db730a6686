package eventbus

import (
	"github.com/bftnode/bftnode/types"
)

// Consensus event types, named as CometBFT names them: the steps of a
// round, the votes counted, the thresholds crossed and the timeouts fired,
// as the node's consensus sees them; and the validator set changes and the
// evidence of committed blocks.
const (
	EventNewRound            = "NewRound"
	EventNewRoundStep        = "NewRoundStep"
	EventCompleteProposal    = "CompleteProposal"
	EventVote                = "Vote"
	EventPolka               = "Polka"
	EventLock                = "Lock"
	EventRelock              = "Relock"
	EventUnlock              = "Unlock"
	EventTimeoutPropose      = "TimeoutPropose"
	EventTimeoutWait         = "TimeoutWait"
	EventValidBlock          = "ValidBlock"
	EventValidatorSetUpdates = "ValidatorSetUpdates"
	EventNewEvidence         = "NewEvidence"
)

// CometBFT's names of the steps of a round (its RoundStepType), which
// RoundState.Step holds.
const (
	StepNewHeight     = "RoundStepNewHeight"
	StepNewRound      = "RoundStepNewRound"
	StepPropose       = "RoundStepPropose"
	StepPrevote       = "RoundStepPrevote"
	StepPrevoteWait   = "RoundStepPrevoteWait"
	StepPrecommit     = "RoundStepPrecommit"
	StepPrecommitWait = "RoundStepPrecommitWait"
	StepCommit        = "RoundStepCommit"
)

// RoundState is the position a consensus event reports (CometBFT's
// EventDataRoundState, EventDataNewRound and EventDataCompleteProposal):
// Proposer is set for NewRound, BlockID for CompleteProposal.
type RoundState struct {
	Height int64
	Round  int32
	Step   string

	Proposer      types.Address
	ProposerIndex int32
	BlockID       types.BlockID
}

// ConsensusEvent builds a consensus event of type typ (one of the Event*
// constants above) with its "tm.event" attribute; the caller sets the
// payload field that goes with the type.
func ConsensusEvent(typ string) Event {
	return Event{Type: typ, Attributes: map[string][]string{KeyEvent: {typ}}}
}

// Wants reports whether any subscriber may match events of type typ, so a
// publisher can skip building events nobody reads.
func (b *Bus) Wants(typ string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.q.MayMatchEvent(typ) {
			return true
		}
	}
	return false
}

// PublishEvidence publishes a NewEvidence event for each piece of evidence
// a committed block at height holds, as CometBFT does once the block is
// applied.
func (b *Bus) PublishEvidence(height int64, list types.EvidenceList) {
	if len(list) == 0 || !b.Wants(EventNewEvidence) {
		return
	}
	for _, ev := range list {
		e := ConsensusEvent(EventNewEvidence)
		e.Evidence, e.EvidenceHeight = ev, height
		b.Publish(e)
	}
}
