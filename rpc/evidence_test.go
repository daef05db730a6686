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

// evidenceVector is the first evidence of a kind ("duplicate_votes" or
// "light_client_attacks") of the vectors CometBFT's code wrote
// (types/testdata, checked by test/interop): its tendermint.types.Evidence
// encoding and its hash.
func evidenceVector(t *testing.T, kind string) (encoded []byte, hash []byte) {
	t.Helper()
	b, err := os.ReadFile("../types/testdata/cometbft_evidence_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Evidence string `json:"evidence"`
		Hash     string `json:"hash"`
	}
	if err := json.Unmarshal(v[kind], &list); err != nil || len(list) == 0 {
		t.Fatalf("no %s vectors: %v", kind, err)
	}
	if encoded, err = hex.DecodeString(list[0].Evidence); err != nil {
		t.Fatal(err)
	}
	if hash, err = hex.DecodeString(list[0].Hash); err != nil {
		t.Fatal(err)
	}
	return encoded, hash
}

func duplicateVector(t *testing.T) (encoded []byte, hash []byte) {
	t.Helper()
	return evidenceVector(t, "duplicate_votes")
}

// TestBroadcastEvidence: evidence given as its protobuf encoding or as
// CometBFT's JSON reaches the backend whole, and the answer is CometBFT's
// hash of it.
func TestBroadcastEvidence(t *testing.T) {
	ts := startServer(t, 3, nil)
	for _, kind := range []string{"duplicate_votes", "light_client_attacks"} {
		encoded, hash := evidenceVector(t, kind)
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
				t.Errorf("%s %s: hash %v, want CometBFT's %X in base64", kind, name, got, hash)
			}
			// The encoding is CometBFT's, so the whole evidence came through
			// (the hash of a light client attack leaves out its commit).
			if len(ts.be.evidence) != 1 || string(types.EncodeEvidence(ts.be.evidence[0])) != string(encoded) {
				t.Errorf("%s %s: the backend got %v, want the vector's evidence", kind, name, ts.be.evidence)
			}
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
	lcaEncoded, _ := evidenceVector(t, "light_client_attacks")
	lca, err := types.DecodeEvidence(lcaEncoded)
	if err != nil {
		t.Fatal(err)
	}
	attack := func(f func(v *lightClientAttackView)) json.RawMessage {
		// A deep copy, through JSON.
		b, err := json.Marshal(viewEvidence(lca).Value)
		if err != nil {
			t.Fatal(err)
		}
		var v lightClientAttackView
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		f(&v)
		out, err := json.Marshal(typedEvidenceView{Type: "tendermint/LightClientAttackEvidence", Value: v})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for name, tc := range map[string]struct {
		param any
		want  string
	}{
		"missing":                    {nil, "missing"},
		"bad base64":                 {"!!", "bad base64"},
		"not evidence":               {base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), "evidence"},
		"unknown type":               {json.RawMessage(`{"type":"tendermint/Other","value":{}}`), "unknown evidence type"},
		"empty light client attack":  {json.RawMessage(`{"type":"tendermint/LightClientAttackEvidence","value":{}}`), "needs ConflictingBlock"},
		"attack without a proposer":  {attack(func(v *lightClientAttackView) { v.ConflictingBlock.ValidatorSet.Proposer = nil }), "validator_set: no proposer"},
		"attack accusing by address": {attack(func(v *lightClientAttackView) { v.ByzantineValidators[0].Address = v.ByzantineValidators[1].Address }), "ByzantineValidators[0]"},
		"attack with a short hash": {attack(func(v *lightClientAttackView) {
			v.ConflictingBlock.SignedHeader.Header.AppHash = nil
			v.ConflictingBlock.SignedHeader.Header.DataHash = hexBytes{1}
		}), "data_hash has 1 bytes"},
		"attack above its block": {attack(func(v *lightClientAttackView) { v.CommonHeight = 1 << 40 }), "invalid evidence"},
		"short address":          {mutate(func(v *duplicateVoteView) { v.VoteA.ValidatorAddress = v.VoteA.ValidatorAddress[:5] }), "validator_address has 5 bytes"},
		"no vote_b":              {mutate(func(v *duplicateVoteView) { v.VoteB = nil }), "vote_a and vote_b"},
		"same block":             {mutate(func(v *duplicateVoteView) { v.VoteB.BlockID = v.VoteA.BlockID }), "invalid evidence"},
		"votes out of order":     {mutate(func(v *duplicateVoteView) { v.VoteA, v.VoteB = v.VoteB, v.VoteA }), "invalid evidence"},
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
