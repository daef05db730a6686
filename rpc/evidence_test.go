package rpc

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// duplicateVector is the first duplicate-vote evidence of the vectors
// CometBFT's code wrote (types/testdata, checked by test/interop): its
// tendermint.types.Evidence encoding and its hash.
func duplicateVector(t *testing.T) (encoded []byte, hash []byte) {
	t.Helper()
	b, err := os.ReadFile("../types/testdata/cometbft_evidence_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Duplicates []struct {
			Evidence string `json:"evidence"`
			Hash     string `json:"hash"`
		} `json:"duplicate_votes"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if encoded, err = hex.DecodeString(v.Duplicates[0].Evidence); err != nil {
		t.Fatal(err)
	}
	if hash, err = hex.DecodeString(v.Duplicates[0].Hash); err != nil {
		t.Fatal(err)
	}
	return encoded, hash
}

// TestBroadcastEvidence: evidence given as its protobuf encoding or as
// CometBFT's JSON reaches the backend whole, and the answer is CometBFT's
// hash of it.
func TestBroadcastEvidence(t *testing.T) {
	ts := startServer(t, 3, nil)
	encoded, hash := duplicateVector(t)
	ev, err := types.DecodeEvidence(encoded)
	if err != nil {
		t.Fatal(err)
	}
	view, err := json.Marshal(viewEvidence(ev))
	if err != nil {
		t.Fatal(err)
	}
	for name, param := range map[string]any{
		"protobuf base64": base64.StdEncoding.EncodeToString(encoded),
		"protobuf hex":    "0x" + hex.EncodeToString(encoded),
		"JSON":            json.RawMessage(view),
	} {
		ts.be.evidence = nil
		res := ts.call(t, "broadcast_evidence", map[string]any{"evidence": param})
		if got := jget(t, res, "hash"); got != base64.StdEncoding.EncodeToString(hash) {
			t.Errorf("%s: hash %v, want CometBFT's %X in base64", name, got, hash)
		}
		if len(ts.be.evidence) != 1 || ts.be.evidence[0].Hash() != ev.Hash() || string(ts.be.evidence[0].Bytes()) != string(ev.Bytes()) {
			t.Errorf("%s: the backend got %v, want the vector's evidence", name, ts.be.evidence)
		}
	}
}

// TestBroadcastEvidenceRefusals: malformed or invalid evidence is refused
// with an invalid-params error saying why, and nothing reaches the pool; a
// pool's refusal comes back with its reason.
func TestBroadcastEvidenceRefusals(t *testing.T) {
	ts := startServer(t, 3, nil)
	encoded, _ := duplicateVector(t)
	ev, err := types.DecodeEvidence(encoded)
	if err != nil {
		t.Fatal(err)
	}
	view := viewEvidence(ev)
	mutate := func(f func(v *duplicateVoteView)) json.RawMessage {
		d := view.Value.(duplicateVoteView)
		a, b := *d.VoteA, *d.VoteB
		d.VoteA, d.VoteB = &a, &b
		f(&d)
		out, err := json.Marshal(typedEvidenceView{Type: view.Type, Value: d})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for name, tc := range map[string]struct {
		param any
		want  string
	}{
		"missing":            {nil, "missing"},
		"bad base64":         {"!!", "bad base64"},
		"not evidence":       {base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), "evidence"},
		"unknown type":       {json.RawMessage(`{"type":"tendermint/Other","value":{}}`), "unknown evidence type"},
		"light client":       {json.RawMessage(`{"type":"tendermint/LightClientAttackEvidence","value":{}}`), "light client attack"},
		"short address":      {mutate(func(v *duplicateVoteView) { v.VoteA.ValidatorAddress = v.VoteA.ValidatorAddress[:5] }), "validator_address has 5 bytes"},
		"no vote_b":          {mutate(func(v *duplicateVoteView) { v.VoteB = nil }), "vote_a and vote_b"},
		"same block":         {mutate(func(v *duplicateVoteView) { v.VoteB.BlockID = v.VoteA.BlockID }), "invalid evidence"},
		"votes out of order": {mutate(func(v *duplicateVoteView) { v.VoteA, v.VoteB = v.VoteB, v.VoteA }), "invalid evidence"},
	} {
		t.Run(name, func(t *testing.T) {
			ts.be.evidence = nil
			params := map[string]any{}
			if tc.param != nil {
				params["evidence"] = tc.param
			}
			e := ts.callErr(t, "broadcast_evidence", params)
			if e.Code != CodeInvalidParams || !strings.Contains(e.Message+e.Data, tc.want) {
				t.Errorf("error %d %q %q, want invalid params saying %q", e.Code, e.Message, e.Data, tc.want)
			}
			if len(ts.be.evidence) != 0 {
				t.Error("refused evidence reached the backend")
			}
		})
	}
	ts.be.evErr = errors.New("evidence: expired")
	e := ts.callErr(t, "broadcast_evidence", map[string]any{"evidence": base64.StdEncoding.EncodeToString(encoded)})
	if !strings.Contains(e.Message+e.Data, "failed to add evidence: evidence: expired") {
		t.Errorf("pool refusal: error %q %q, want the pool's reason", e.Message, e.Data)
	}
}
