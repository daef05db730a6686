package light

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// TestValidatorSetWithPriorities: the set keeps the proposer priorities the
// node's /validators reports (which NewValidatorSet would recompute) and
// takes the proposer given; a proposer outside the set is refused.
func TestValidatorSetWithPriorities(t *testing.T) {
	var vals []validatorJSON
	prios := map[types.Address]int64{}
	for i := range 3 {
		pub := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+i)), 32))).Public().(ed25519.PublicKey)
		v := types.NewValidator(pub, 10)
		v.ProposerPriority = int64(100*i - 150)
		prios[v.Address] = v.ProposerPriority
		vals = append(vals, validatorToJSON(v))
	}
	// The chain's order: equal powers, so by address.
	slices.SortFunc(vals, func(a, b validatorJSON) int { return bytes.Compare(a.Address, b.Address) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		res, _ := json.Marshal(map[string]any{"block_height": "5", "validators": vals, "count": "3", "total": "3"})
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": json.RawMessage(res)})
	}))
	defer srv.Close()
	p, err := NewRPCProvider(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var proposer types.Address
	copy(proposer[:], vals[1].Address)
	vs, err := p.ValidatorSetWithPriorities(context.Background(), 5, proposer)
	if err != nil {
		t.Fatal(err)
	}
	if vs.Proposer().Address != proposer {
		t.Errorf("proposer %X, want %X", vs.Proposer().Address, proposer)
	}
	for _, v := range vs.Validators {
		if v.ProposerPriority != prios[v.Address] {
			t.Errorf("validator %X: priority %d, the node reported %d", v.Address, v.ProposerPriority, prios[v.Address])
		}
	}
	if _, err := p.ValidatorSetWithPriorities(context.Background(), 5, types.Address{1}); err == nil {
		t.Error("a proposer outside the set was accepted")
	}
}
