package blockstore

import (
	"errors"
	"reflect"
	"testing"
	"time"

	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
)

func defaultParams() ConsensusParams {
	return ConsensusParams{
		MaxBlockBytes: 4 << 20, MaxGas: -1,
		EvidenceMaxAgeNumBlocks: 100_000, EvidenceMaxAgeDuration: 48 * time.Hour, EvidenceMaxBytes: 1 << 20,
		PubKeyTypes: []string{"ed25519"},
	}
}

// TestParamsUpdate: an update replaces the groups it sets and keeps the
// others; one that breaks a rule is refused with ErrInvalidParams and
// leaves the parameters as they were. The vote extension cases follow
// CometBFT v0.40.0's ValidateUpdate table (types/params.go).
func TestParamsUpdate(t *testing.T) {
	abciAt := func(h int64) *tmtypes.ConsensusParams {
		return &tmtypes.ConsensusParams{Abci: &tmtypes.ABCIParams{VoteExtensionsEnableHeight: h}}
	}
	withVE := func(h int64) ConsensusParams { p := defaultParams(); p.VoteExtensionsEnableHeight = h; return p }
	tests := []struct {
		name   string
		from   ConsensusParams
		update *tmtypes.ConsensusParams
		height int64
		want   ConsensusParams // when ok
		ok     bool
	}{
		{"nil update", defaultParams(), nil, 10, defaultParams(), true},
		{"block group replaced", defaultParams(), &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: 2_000_000, MaxGas: 50}}, 10,
			func() ConsensusParams { p := defaultParams(); p.MaxBlockBytes, p.MaxGas = 2_000_000, 50; return p }(), true},
		{"evidence and version", defaultParams(), &tmtypes.ConsensusParams{
			Evidence: &tmtypes.EvidenceParams{MaxAgeNumBlocks: 7, MaxAgeDuration: time.Minute, MaxBytes: 100},
			Version:  &tmtypes.VersionParams{App: 4}}, 10,
			func() ConsensusParams {
				p := defaultParams()
				p.EvidenceMaxAgeNumBlocks, p.EvidenceMaxAgeDuration, p.EvidenceMaxBytes, p.AppVersion = 7, time.Minute, 100, 4
				return p
			}(), true},
		{"max_bytes -1", defaultParams(), &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: -1, MaxGas: -1}}, 10,
			func() ConsensusParams { p := defaultParams(); p.MaxBlockBytes = -1; return p }(), true},
		{"max_bytes 0", defaultParams(), &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: 0, MaxGas: -1}}, 10, ConsensusParams{}, false},
		{"max_bytes over the protocol's limit", defaultParams(), &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: 100<<20 + 1, MaxGas: -1}}, 10, ConsensusParams{}, false},
		{"max_gas -2", defaultParams(), &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: 1000, MaxGas: -2}}, 10, ConsensusParams{}, false},
		{"evidence larger than the block", defaultParams(), &tmtypes.ConsensusParams{Block: &tmtypes.BlockParams{MaxBytes: 1000, MaxGas: -1}}, 10, ConsensusParams{}, false},
		{"evidence age 0", defaultParams(), &tmtypes.ConsensusParams{Evidence: &tmtypes.EvidenceParams{MaxAgeNumBlocks: 0, MaxAgeDuration: time.Hour}}, 10, ConsensusParams{}, false},
		{"key types without ed25519", defaultParams(), &tmtypes.ConsensusParams{Validator: &tmtypes.ValidatorParams{PubKeyTypes: []string{"secp256k1"}}}, 10, ConsensusParams{}, false},
		{"unknown key type", defaultParams(), &tmtypes.ConsensusParams{Validator: &tmtypes.ValidatorParams{PubKeyTypes: []string{"ed25519", "rsa"}}}, 10, ConsensusParams{}, false},
		// The vote extension height (CometBFT's table, rows 2 to 10).
		{"VE negative", defaultParams(), abciAt(-1), 10, ConsensusParams{}, false},
		{"VE off stays off", defaultParams(), abciAt(0), 10, defaultParams(), true},
		{"VE unchanged though reached", withVE(5), abciAt(5), 10, withVE(5), true},
		{"VE turned off once reached", withVE(5), abciAt(0), 10, ConsensusParams{}, false},
		{"VE turned off before reached", withVE(20), abciAt(0), 10, defaultParams(), true},
		{"VE set to the current height", defaultParams(), abciAt(10), 10, ConsensusParams{}, false},
		{"VE set to a past height", defaultParams(), abciAt(3), 10, ConsensusParams{}, false},
		{"VE set to a future height", defaultParams(), abciAt(11), 10, withVE(11), true},
		{"VE moved once reached", withVE(5), abciAt(30), 10, ConsensusParams{}, false},
		{"VE moved before reached", withVE(20), abciAt(30), 10, withVE(30), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Update(tt.update, tt.height)
			if !tt.ok {
				if !errors.Is(err, ErrInvalidParams) {
					t.Fatalf("Update: err %v, want ErrInvalidParams", err)
				}
				if !reflect.DeepEqual(got, tt.from) {
					t.Fatalf("a refused update returned %+v, want the parameters unchanged %+v", got, tt.from)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestMaxDataBytes: the txs' budget is block.max_bytes less the header
// (626), the block's framing (11), the commit (94 + 113 per signature) and
// the evidence; -1 stands for 100 MiB; it never goes below zero.
func TestMaxDataBytes(t *testing.T) {
	p := defaultParams()
	p.MaxBlockBytes = 10_000
	if got, want := p.MaxDataBytes(500, 4), int64(10_000-626-11-94-4*113-500); got != want {
		t.Fatalf("MaxDataBytes = %d, want %d", got, want)
	}
	p.MaxBlockBytes = -1
	if got, want := p.MaxDataBytes(0, 1), int64(100<<20-626-11-94-113); got != want {
		t.Fatalf("MaxDataBytes with -1 = %d, want %d", got, want)
	}
	p.MaxBlockBytes = 500
	if got := p.MaxDataBytes(0, 4); got != 0 {
		t.Fatalf("MaxDataBytes of a tiny block = %d, want 0", got)
	}
}

// TestConsensusParamsByHeight: each saved state records its parameters
// under the height they are in force at; a height never reached has none.
func TestConsensusParamsByHeight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		c := newChain(t, 1, 4)
		st := testState(t, c.vals)
		if err := s.SaveState(st); err != nil {
			t.Fatal(err)
		}
		first := st.ConsensusParams
		b, id, seen := c.next()
		st = advance(t, st, id, nil)
		st.ConsensusParams.MaxBlockBytes = 12345
		if err := s.SaveDecided(b, id, seen, nil, []byte("response"), st); err != nil {
			t.Fatal(err)
		}
		for h, want := range map[int64]int64{1: first.MaxBlockBytes, 2: 12345} {
			got, err := s.LoadConsensusParams(h)
			if err != nil || got.MaxBlockBytes != want {
				t.Fatalf("params at height %d: %+v, %v; want max_bytes %d", h, got, err, want)
			}
		}
		if got, _ := s.LoadConsensusParams(1); !reflect.DeepEqual(got, first) {
			t.Fatalf("params at height 1: %+v, want %+v", got, first)
		}
		if _, err := s.LoadConsensusParams(3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("params at height 3: %v, want ErrNotFound", err)
		}
	})
}
