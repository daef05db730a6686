package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/types"
)

// resultBroadcastEvidence is broadcast_evidence's result: the evidence's
// hash (base64, as CometBFT's []byte field).
type resultBroadcastEvidence struct {
	Hash []byte `json:"hash"`
}

// broadcastEvidence adds evidence to the node's pool. The evidence comes
// as CometBFT's client sends it (its JSON: {"type": "tendermint/...",
// "value": {...}}) or as a string holding the tendermint.types.Evidence
// encoding (base64, or 0x-prefixed hex).
func (s *Server) broadcastEvidence(ctx context.Context, a *args) (any, error) {
	ev, err := evidenceParam(a)
	if err != nil {
		return nil, err
	}
	if err := s.backend.BroadcastEvidence(ctx, ev); err != nil {
		return nil, fmt.Errorf("failed to add evidence: %w", err)
	}
	h := ev.Hash()
	return resultBroadcastEvidence{Hash: h[:]}, nil
}

func evidenceParam(a *args) (types.Evidence, error) {
	const name = "evidence"
	p, ok := a.lookup(name)
	if !ok {
		return nil, badParam(name, "missing: give the evidence as CometBFT's JSON or its protobuf encoding in base64")
	}
	raw := bytes.TrimSpace(p.json)
	if p.fromURI {
		raw = []byte(p.uri)
	}
	var ev types.Evidence
	if len(raw) > 0 && raw[0] == '{' {
		var err error
		if ev, err = evidenceFromJSON(raw); err != nil {
			return nil, badParam(name, "%v", err)
		}
	} else {
		bz, err := a.Bytes(name, true)
		if err != nil {
			return nil, err
		}
		if ev, err = types.DecodeEvidence(bz); err != nil {
			return nil, badParam(name, "%v", err)
		}
	}
	if err := ev.ValidateBasic(); err != nil {
		return nil, badParam(name, "%v", err)
	}
	return ev, nil
}

// evidenceFromJSON reads CometBFT's JSON of a piece of evidence.
func evidenceFromJSON(raw []byte) (types.Evidence, error) {
	var typed struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &typed); err != nil {
		return nil, fmt.Errorf("not CometBFT's evidence JSON: %v", err)
	}
	switch typed.Type {
	case "tendermint/DuplicateVoteEvidence":
	case "tendermint/LightClientAttackEvidence":
		return lightClientAttackFromJSON(typed.Value)
	default:
		return nil, fmt.Errorf("unknown evidence type %q; want tendermint/DuplicateVoteEvidence or tendermint/LightClientAttackEvidence", typed.Type)
	}
	var v duplicateVoteView
	if err := json.Unmarshal(typed.Value, &v); err != nil {
		return nil, fmt.Errorf("duplicate vote evidence: %v", err)
	}
	if v.VoteA == nil || v.VoteB == nil {
		return nil, fmt.Errorf("duplicate vote evidence needs vote_a and vote_b")
	}
	a, err := v.VoteA.vote()
	if err != nil {
		return nil, fmt.Errorf("vote_a: %w", err)
	}
	b, err := v.VoteB.vote()
	if err != nil {
		return nil, fmt.Errorf("vote_b: %w", err)
	}
	return &types.DuplicateVoteEvidence{VoteA: a, VoteB: b, TotalVotingPower: int64(v.TotalVotingPower),
		ValidatorPower: int64(v.ValidatorPower), Timestamp: time.Time(v.Timestamp)}, nil
}

// vote is the domain vote of a vote's JSON.
func (v *voteView) vote() (*types.Vote, error) {
	out := &types.Vote{
		Type:               types.SignedMsgType(v.Type),
		Height:             int64(v.Height),
		Round:              v.Round,
		Timestamp:          time.Time(v.Timestamp),
		ValidatorIndex:     v.ValidatorIndex,
		Signature:          v.Signature,
		Extension:          v.Extension,
		ExtensionSignature: v.ExtensionSignature,
	}
	if err := fixed(out.ValidatorAddress[:], v.ValidatorAddress, "validator_address"); err != nil {
		return nil, err
	}
	var err error
	out.BlockID, err = v.BlockID.blockID("block_id")
	return out, err
}

// fixed copies b into dst, which it must fill exactly; empty b leaves dst
// zero (an absent hash).
func fixed(dst, b []byte, what string) error {
	if len(b) != 0 && len(b) != len(dst) {
		return fmt.Errorf("%s has %d bytes, want %d", what, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}
