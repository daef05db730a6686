package rpc

import (
	"github.com/bftnode/bftnode/eventbus"
)

// The JSON of consensus events, as CometBFT's event data types marshal:
// the position of most of them is its EventDataRoundState.

type roundStateEventView struct {
	Height int64s `json:"height"`
	Round  int32  `json:"round"`
	Step   string `json:"step"`
}

type proposerInfoView struct {
	Address hexBytes `json:"address"`
	Index   int32    `json:"index"`
}

type newRoundEventView struct {
	roundStateEventView
	Proposer proposerInfoView `json:"proposer"`
}

type completeProposalEventView struct {
	roundStateEventView
	BlockID blockIDView `json:"block_id"`
}

// consensusEventData is the tagged data of a consensus event, and false
// for an event that is not one or lacks its payload.
func consensusEventData(ev eventbus.Event) (eventDataView, bool) {
	const tag = "tendermint/event/"
	switch {
	case ev.Type == eventbus.EventVote && ev.Vote != nil:
		return eventDataView{Type: tag + "Vote", Value: struct {
			Vote *voteView `json:"Vote"`
		}{viewVote(ev.Vote)}}, true
	case ev.Type == eventbus.EventNewEvidence && ev.Evidence != nil:
		return eventDataView{Type: tag + "NewEvidence", Value: struct {
			Height   int64s            `json:"height"`
			Evidence typedEvidenceView `json:"evidence"`
		}{int64s(ev.EvidenceHeight), viewEvidence(ev.Evidence)}}, true
	case ev.Type == eventbus.EventValidatorSetUpdates:
		return eventDataView{Type: tag + "ValidatorSetUpdates", Value: struct {
			Updates []validatorView `json:"validator_updates"`
		}{viewValidators(ev.ValidatorUpdates)}}, true
	case ev.Round == nil:
		return eventDataView{}, false
	}
	rs := ev.Round
	pos := roundStateEventView{Height: int64s(rs.Height), Round: rs.Round, Step: rs.Step}
	switch ev.Type {
	case eventbus.EventNewRound:
		return eventDataView{Type: tag + "NewRound", Value: newRoundEventView{pos,
			proposerInfoView{Address: hexBytes(rs.Proposer[:]), Index: rs.ProposerIndex}}}, true
	case eventbus.EventCompleteProposal:
		return eventDataView{Type: tag + "CompleteProposal", Value: completeProposalEventView{pos, viewBlockID(rs.BlockID)}}, true
	}
	return eventDataView{Type: tag + "RoundState", Value: pos}, true
}
