package node

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/config"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
)

// initChainRecorder keeps the InitChain request it gets.
type initChainRecorder struct {
	app.BaseApplication
	got *abci.RequestInitChain
}

func (r *initChainRecorder) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	r.got = req
	return &abci.ResponseInitChain{}, nil
}

// TestInitChainCarriesGenesisParams: the application's InitChain gets the
// genesis consensus parameters, every group, as CometBFT sends them
// (CometBFT's e2e app fails without the abci group), or CometBFT's
// defaults when the genesis has none.
func TestInitChainCarriesGenesisParams(t *testing.T) {
	tests := []struct {
		name   string
		params *config.ConsensusParams
		want   *tmtypes.ConsensusParams
	}{
		{"from the genesis", &config.ConsensusParams{
			Block:     config.BlockParams{MaxBytes: 2048, MaxGas: 100},
			Evidence:  config.EvidenceParams{MaxAgeNumBlocks: 5, MaxAgeDuration: time.Hour, MaxBytes: 512},
			Validator: config.ValidatorParams{PubKeyTypes: []string{"ed25519"}},
			Version:   config.VersionParams{App: 3},
		}, &tmtypes.ConsensusParams{
			Block:     &tmtypes.BlockParams{MaxBytes: 2048, MaxGas: 100},
			Evidence:  &tmtypes.EvidenceParams{MaxAgeNumBlocks: 5, MaxAgeDuration: time.Hour, MaxBytes: 512},
			Validator: &tmtypes.ValidatorParams{PubKeyTypes: []string{"ed25519"}},
			Version:   &tmtypes.VersionParams{App: 3},
			Abci:      &tmtypes.ABCIParams{},
		}},
		{"defaults", nil, &tmtypes.ConsensusParams{
			Block:     &tmtypes.BlockParams{MaxBytes: 4 << 20, MaxGas: -1},
			Evidence:  &tmtypes.EvidenceParams{MaxAgeNumBlocks: 100000, MaxAgeDuration: 48 * time.Hour, MaxBytes: 1048576},
			Validator: &tmtypes.ValidatorParams{PubKeyTypes: []string{"ed25519"}},
			Version:   &tmtypes.VersionParams{},
			Abci:      &tmtypes.ABCIParams{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &initChainRecorder{}
			a := engineApp{Application: rec, params: initChainParams(&config.GenesisDoc{ConsensusParams: tt.params}), committed: func(int64) {}}
			if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: "c", InitialHeight: 7}); err != nil {
				t.Fatal(err)
			}
			if rec.got.ChainId != "c" || rec.got.InitialHeight != 7 {
				t.Fatalf("InitChain got chain %q, initial height %d; want c, 7", rec.got.ChainId, rec.got.InitialHeight)
			}
			got, err := rec.got.ConsensusParams.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want, err := tt.want.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("InitChain got consensus params %v, want %v", rec.got.ConsensusParams, tt.want)
			}
		})
	}
}
