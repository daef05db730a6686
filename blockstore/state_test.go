package blockstore

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// testState is a genesis state over vals: no block yet, no last validators.
func testState(t testing.TB, vals *types.ValidatorSet) *State {
	t.Helper()
	next := vals.Copy()
	next.IncrementProposerPriority(1)
	return &State{
		ChainID:         "store-test",
		InitialHeight:   1,
		LastBlockTime:   blockTime(0),
		Validators:      vals.Copy(),
		NextValidators:  next,
		LastResultsHash: sha256.Sum256(nil),
		AppHash:         []byte("genesis"),
		ConsensusParams: ConsensusParams{
			MaxBlockBytes: 4 << 20, MaxGas: -1,
			EvidenceMaxAgeNumBlocks: 100_000, EvidenceMaxAgeDuration: 48 * time.Hour,
			EvidenceMaxBytes: 1 << 20, PubKeyTypes: []string{"ed25519"}, VoteExtensionsEnableHeight: 9,
		},
	}
}

// advance returns the state after the block with id, the validator updates
// taking effect two heights later (as in Tendermint).
func advance(t *testing.T, st *State, id types.BlockID, updates []types.ValidatorUpdate) *State {
	t.Helper()
	next := st.NextValidators.Copy()
	changed := st.LastHeightValidatorsChanged
	if len(updates) > 0 {
		var err error
		if next, err = next.Update(updates); err != nil {
			t.Fatal(err)
		}
		changed = st.LastBlockHeight + 1 + 2
	}
	next.IncrementProposerPriority(1)
	ns := *st
	ns.LastBlockHeight++
	ns.LastBlockID = id
	ns.LastBlockTime = blockTime(ns.LastBlockHeight)
	ns.LastValidators = st.Validators.Copy()
	ns.Validators = st.NextValidators.Copy()
	ns.NextValidators = next
	ns.LastHeightValidatorsChanged = changed
	ns.AppHash = []byte{byte(ns.LastBlockHeight)}
	return &ns
}

func TestStateAndValidatorsByHeight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		if _, err := s.LoadState(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("state of an empty store: %v", err)
		}
		c := newChain(t, 1, 12)
		st := testState(t, c.vals)
		if err := s.SaveState(st); err != nil {
			t.Fatal(err)
		}
		// Each height's set, as the state held it, from height 1 on.
		want := map[int64]*types.ValidatorSet{1: st.Validators, 2: st.NextValidators}
		newKey := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
		for h := int64(1); h <= 6; h++ {
			b, id, seen := c.next()
			var updates []types.ValidatorUpdate
			if h == 2 {
				updates = []types.ValidatorUpdate{{PubKey: newKey, Power: 7}}
			}
			st = advance(t, st, id, updates)
			if err := s.SaveDecided(b, id, seen, nil, []byte("response"), st); err != nil {
				t.Fatal(err)
			}
			want[h+2] = st.NextValidators
			got, err := s.LoadState()
			if err != nil || !reflect.DeepEqual(got, st) {
				t.Fatalf("state after height %d: %v\n got %+v\nwant %+v", h, err, got, st)
			}
		}
		// Added by block 2, the validator validates from height 4 on.
		if got, _ := s.LoadValidators(3); got.Size() != 4 {
			t.Fatal("the new validator is in the set of height 3 already")
		}
		if got, _ := s.LoadValidators(4); got.Size() != 5 {
			t.Fatal("the new validator is not in the set of height 4")
		}
		for h, vs := range want {
			got, err := s.LoadValidators(h)
			if err != nil {
				t.Fatalf("height %d: %v", h, err)
			}
			if !reflect.DeepEqual(got, vs) || got.Proposer().Address != vs.Proposer().Address {
				t.Fatalf("validators at height %d:\n got %+v\nwant %+v", h, got, vs)
			}
		}
		if _, err := s.LoadValidators(100); !errors.Is(err, ErrNotFound) {
			t.Fatalf("validators at height 100: %v", err)
		}
	})
}
