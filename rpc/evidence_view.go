package rpc

import (
	"encoding/json"

	"github.com/bftnode/bftnode/types"
)

// Evidence in CometBFT's JSON: each piece is wrapped as {"type": its
// registered name, "value": the evidence}, and the ABCI fields of the
// evidence carry Go's field names (CometBFT gives them no JSON tags).

type voteView struct {
	Type               int32       `json:"type"`
	Height             int64s      `json:"height"`
	Round              int32       `json:"round"`
	BlockID            blockIDView `json:"block_id"`
	Timestamp          rfcTime     `json:"timestamp"`
	ValidatorAddress   hexBytes    `json:"validator_address"`
	ValidatorIndex     int32       `json:"validator_index"`
	Signature          []byte      `json:"signature"`
	Extension          []byte      `json:"extension"`
	ExtensionSignature []byte      `json:"extension_signature"`
}

func viewVote(v *types.Vote) *voteView {
	return &voteView{
		Type:               int32(v.Type),
		Height:             int64s(v.Height),
		Round:              v.Round,
		BlockID:            viewBlockID(v.BlockID),
		Timestamp:          rfcTime(v.Timestamp),
		ValidatorAddress:   hexBytes(v.ValidatorAddress[:]),
		ValidatorIndex:     v.ValidatorIndex,
		Signature:          v.Signature,
		Extension:          v.Extension,
		ExtensionSignature: v.ExtensionSignature,
	}
}

type duplicateVoteView struct {
	VoteA            *voteView `json:"vote_a"`
	VoteB            *voteView `json:"vote_b"`
	TotalVotingPower int64s
	ValidatorPower   int64s
	Timestamp        rfcTime
}

type validatorSetView struct {
	Validators []validatorView `json:"validators"`
	Proposer   *validatorView  `json:"proposer"`
}

type signedHeaderView struct {
	Header *headerView `json:"header"`
	Commit *commitView `json:"commit"`
}

type lightBlockView struct {
	SignedHeader signedHeaderView  `json:"signed_header"`
	ValidatorSet *validatorSetView `json:"validator_set"`
}

type lightClientAttackView struct {
	ConflictingBlock    *lightBlockView
	CommonHeight        int64s
	ByzantineValidators []validatorView
	TotalVotingPower    int64s
	Timestamp           rfcTime
}

type typedEvidenceView struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func viewValidators(vs []*types.Validator) []validatorView {
	out := make([]validatorView, len(vs))
	for i, v := range vs {
		out[i] = viewValidator(v)
	}
	return out
}

func viewEvidence(ev types.Evidence) typedEvidenceView {
	switch e := ev.(type) {
	case *types.DuplicateVoteEvidence:
		return typedEvidenceView{Type: "tendermint/DuplicateVoteEvidence", Value: duplicateVoteView{
			VoteA:            viewVote(e.VoteA),
			VoteB:            viewVote(e.VoteB),
			TotalVotingPower: int64s(e.TotalVotingPower),
			ValidatorPower:   int64s(e.ValidatorPower),
			Timestamp:        rfcTime(e.Timestamp),
		}}
	case *types.LightClientAttackEvidence:
		lb := e.ConflictingBlock
		vs := &validatorSetView{Validators: viewValidators(lb.ValidatorSet.Validators)}
		if p := lb.ValidatorSet.Proposer(); p != nil {
			pv := viewValidator(p)
			vs.Proposer = &pv
		}
		return typedEvidenceView{Type: "tendermint/LightClientAttackEvidence", Value: lightClientAttackView{
			ConflictingBlock: &lightBlockView{
				SignedHeader: signedHeaderView{Header: viewHeader(lb.Header), Commit: viewCommit(lb.Commit)},
				ValidatorSet: vs,
			},
			CommonHeight:        int64s(e.CommonHeight),
			ByzantineValidators: viewValidators(e.ByzantineValidators),
			TotalVotingPower:    int64s(e.TotalVotingPower),
			Timestamp:           rfcTime(e.Timestamp),
		}}
	}
	panic("rpc: unknown evidence type")
}

func viewEvidenceList(l types.EvidenceList) evidenceListView {
	v := evidenceListView{Evidence: make([]typedEvidenceView, len(l))}
	for i, ev := range l {
		v.Evidence[i] = viewEvidence(ev)
	}
	return v
}

// EvidenceJSON is ev in CometBFT's JSON ({"type": ..., "value": ...}), as
// broadcast_evidence takes it on bftnode and CometBFT nodes alike.
func EvidenceJSON(ev types.Evidence) ([]byte, error) { return json.Marshal(viewEvidence(ev)) }
