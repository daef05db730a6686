package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
)

// cometCall calls a bftnode RPC method and decodes its result as CometBFT's
// client does: its JSON codec into its types (the fields of its RPC result
// types used here; package rpc/core/types would pull CometBFT's databases
// into this module).
func cometCall(t *testing.T, base, method string, result any) {
	t.Helper()
	var raw json.RawMessage
	if err := rawCall(base, method, &raw); err != nil {
		t.Fatal(err)
	}
	if err := cmtjson.Unmarshal(raw, result); err != nil {
		t.Fatalf("CometBFT cannot decode bftnode's %s: %v", method, err)
	}
}

// medianTime is CometBFT's state.MedianTime (importing package state would
// pull its databases into this module): CometBFT's WeightedMedian over the
// commit's precommits for the block, each weighted by its validator's power.
func medianTime(t *testing.T, c *cmttypes.Commit, vals *cmttypes.ValidatorSet) time.Time {
	t.Helper()
	var ws []*cmttime.WeightedTime
	var total int64
	for _, s := range c.Signatures {
		if s.BlockIDFlag != cmttypes.BlockIDFlagCommit {
			continue
		}
		_, v := vals.GetByAddress(s.ValidatorAddress)
		if v == nil {
			t.Fatalf("commit signer %X is not in the validator set", s.ValidatorAddress)
		}
		ws = append(ws, cmttime.NewWeightedTime(s.Timestamp, v.VotingPower))
		total += v.VotingPower
	}
	return cmttime.WeightedMedian(ws, total)
}

// setGenesisPowers gives every genesis validator the voting power power.
func setGenesisPowers(t *testing.T, path string, power int64) {
	t.Helper()
	editGenesis(t, path, func(g map[string]any) {
		vals, _ := g["validators"].([]any)
		if len(vals) == 0 {
			t.Fatalf("%s lists no validators", path)
		}
		for _, v := range vals {
			v.(map[string]any)["power"] = strconv.FormatInt(power, 10)
		}
	})
}

// editGenesis rewrites the genesis file at path with edit applied to its
// JSON object.
func editGenesis(t *testing.T, path string, edit func(g map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	edit(g)
	if raw, err = json.Marshal(g); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBlockTimesAreCometBFTMedians: the blocks of a 4-validator bftnode
// network, decoded by CometBFT's RPC types, are dated as CometBFT's
// validation requires: block 1 at the genesis time (as CometBFT reads the
// genesis), every later block at CometBFT's own WeightedMedian of its last
// commit's timestamps, weighted by the validator set CometBFT decodes
// for the height before, and later than the block before.
func TestBlockTimesAreCometBFTMedians(t *testing.T) {
	// Power 1 each: half of 3 or 4 precommits' power is then 1 or 2, where
	// CometBFT's rounding down picks the earliest of three timestamps, or
	// the second of four, rather than the middle.
	nw := newNetwork(t, 4, netOptions{Flags: fastFlags, Setup: func(nw *network) {
		for _, nd := range nw.nodes {
			setGenesisPowers(t, filepath.Join(nd.home, "config", "genesis.json"), 1)
		}
	}})
	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(nw.nodes[0].home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	const top = 6
	nw.waitHeight(top, 2*time.Minute)
	rpc := nw.nodes[1].RPC()
	var prev time.Time
	for h := int64(1); h <= top; h++ {
		var res struct {
			Block *cmttypes.Block `json:"block"`
		}
		cometCall(t, rpc, fmt.Sprintf("block?height=%d", h), &res)
		b := res.Block
		if h == 1 {
			if !b.Time.Equal(gen.GenesisTime) {
				t.Fatalf("block 1 dated %v, CometBFT wants the genesis time %v", b.Time, gen.GenesisTime)
			}
			prev = b.Time
			continue
		}
		last := h - 1
		var vals struct {
			Validators []*cmttypes.Validator `json:"validators"`
		}
		cometCall(t, rpc, fmt.Sprintf("validators?height=%d", last), &vals)
		set, err := cmttypes.ValidatorSetFromExistingValidators(vals.Validators)
		if err != nil {
			t.Fatal(err)
		}
		if want := medianTime(t, b.LastCommit, set); !b.Time.Equal(want) {
			t.Fatalf("block %d dated %v, CometBFT's weighted median of its last commit is %v", h, b.Time, want)
		}
		if !b.Time.After(prev) {
			t.Fatalf("block %d dated %v, not after block %d's %v", h, b.Time, last, prev)
		}
		prev = b.Time
	}
}
