package p2p

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/mempool"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// TestFourValidatorsCommitOverLibp2p runs four real engines (Pebble block
// store, kvstore app, WAL, file signer) connected only by this transport,
// the last one bootstrapped from the first alone, and checks they commit
// the same blocks.
func TestFourValidatorsCommitOverLibp2p(t *testing.T) {
	const n, target = 4, 5
	keys := make([]ed25519.PrivateKey, n)
	vals := make([]*types.Validator, n)
	for i := range n {
		var seed [32]byte
		seed[0] = byte(i + 1)
		keys[i] = ed25519.NewKeyFromSeed(seed[:])
		vals[i] = types.NewValidator(keys[i].Public().(ed25519.PublicKey), 10)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	genesis := engine.Genesis{ChainID: testChain, InitialHeight: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Validators: vs, AppState: []byte("{}")}
	stores := make([]*blockstore.Store, n)
	transports := make([]*Transport, n)
	for i := range n {
		dir := t.TempDir()
		store, err := blockstore.Open(filepath.Join(dir, "store"), blockstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := kvstore.Open(filepath.Join(dir, "app"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{InitialHeight: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := mempool.New(mempool.DefaultConfig(), engine.MempoolChecker(a), store, nil, mempool.NopMetrics())
		if err != nil {
			t.Fatal(err)
		}
		pv, err := privval.NewFilePV(keys[i], filepath.Join(dir, "priv_validator_state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var bootstrap []string
		if i > 0 {
			bootstrap = []string{transports[0].Addrs()[0]}
		}
		_, nodeKey, _ := ed25519.GenerateKey(nil)
		tr := newTestNode(t, func(c *Config) {
			c.PrivKey = nodeKey
			c.Source = store
			c.BootstrapPeers = bootstrap
		})
		transports[i], stores[i] = tr, store
		eng, err := engine.New(engine.Config{
			Genesis: genesis,
			Timeouts: consensus.Timeouts{
				Propose: time.Second, ProposeDelta: 200 * time.Millisecond,
				Prevote: 300 * time.Millisecond, PrevoteDelta: 100 * time.Millisecond,
				Precommit: 300 * time.Millisecond, PrecommitDelta: 100 * time.Millisecond,
			},
			CommitDelay:         20 * time.Millisecond,
			CreateEmptyBlocks:   true,
			RebroadcastInterval: 500 * time.Millisecond,
			Logger:              testLogger(t, slog.LevelError),
		}, engine.Deps{Transport: tr, Store: store, App: a, Mempool: mp, Signer: pv, WAL: w})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- eng.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("engine %d: %v", i, err)
			}
			_ = w.Close()
			_ = a.Close()
			_ = store.Close()
		})
	}
	start := time.Now()
	waitFor(t, "every validator at the target height", func() bool {
		for _, s := range stores {
			if s.Height() < target {
				return false
			}
		}
		return true
	})
	t.Logf("4 validators committed %d blocks over libp2p in %v", target, time.Since(start))
	for h := int64(1); h <= target; h++ {
		want, err := stores[0].LoadBlock(h)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range stores[1:] {
			got, err := s.LoadBlock(h)
			if err != nil {
				t.Fatal(err)
			}
			if got.Hash() != want.Hash() {
				t.Fatalf("height %d: node %d has a different block", h, i+1)
			}
		}
	}
	reportStats(t, transports)
}
