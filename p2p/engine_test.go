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

type testValidators struct {
	t          *testing.T
	keys       []ed25519.PrivateKey
	genesis    engine.Genesis
	stores     []*blockstore.Store
	transports []*Transport
	// knownSets makes each transport load the validator sets from its
	// store (Config.Validators), so it checks signatures itself.
	knownSets bool
}

func newTestValidators(t *testing.T, n int) *testValidators {
	t.Helper()
	tv := &testValidators{t: t, keys: make([]ed25519.PrivateKey, n), stores: make([]*blockstore.Store, n), transports: make([]*Transport, n)}
	vals := make([]*types.Validator, n)
	for i := range n {
		var seed [32]byte
		seed[0] = byte(i + 1)
		tv.keys[i] = ed25519.NewKeyFromSeed(seed[:])
		vals[i] = types.NewValidator(tv.keys[i].Public().(ed25519.PublicKey), 10)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	tv.genesis = engine.Genesis{ChainID: testChain, InitialHeight: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Validators: vs, AppState: []byte("{}")}
	return tv
}

// start runs validator i: its own store, app, WAL, mempool and signer, and
// a transport bootstrapped from validator 0 (unless it is validator 0).
func (tv *testValidators) start(i int) {
	t := tv.t
	t.Helper()
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
	pv, err := privval.NewFilePV(tv.keys[i], filepath.Join(dir, "priv_validator_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bootstrap []string
	if i > 0 {
		bootstrap = []string{tv.transports[0].Addrs()[0]}
	}
	_, nodeKey, _ := ed25519.GenerateKey(nil)
	tr := newTestNode(t, func(c *Config) {
		c.PrivKey = nodeKey
		c.Source = store
		c.BootstrapPeers = bootstrap
		c.Logger = testLogger(t, slog.LevelInfo).With("node", i)
		if tv.knownSets {
			c.Validators = store
		}
	})
	tv.transports[i], tv.stores[i] = tr, store
	eng, err := engine.New(engine.Config{
		Genesis: tv.genesis,
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

func (tv *testValidators) waitHeight(h int64, which ...int) {
	tv.t.Helper()
	waitForUpTo(tv.t, 2*time.Minute, "validators at the target height", func() bool {
		for _, i := range which {
			if tv.stores[i].Height() < h {
				return false
			}
		}
		return true
	})
}

// checkSameChain checks that every validator holds the same blocks up to h.
func (tv *testValidators) checkSameChain(h int64) {
	tv.t.Helper()
	for height := int64(1); height <= h; height++ {
		want, err := tv.stores[0].LoadBlock(height)
		if err != nil {
			tv.t.Fatal(err)
		}
		for i, s := range tv.stores[1:] {
			got, err := s.LoadBlock(height)
			if err != nil {
				tv.t.Fatal(err)
			}
			if got.Hash() != want.Hash() {
				tv.t.Fatalf("height %d: node %d has a different block", height, i+1)
			}
		}
	}
}

// TestFourValidatorsCommitOverLibp2p runs four real engines (Pebble block
// store, kvstore app, WAL, file signer) connected only by this transport,
// each but the first bootstrapped from the first alone, and checks they
// commit the same blocks.
func TestFourValidatorsCommitOverLibp2p(t *testing.T) {
	const target = 8
	tv := newTestValidators(t, 4)
	start := time.Now()
	for i := range 4 {
		tv.start(i)
	}
	tv.waitHeight(target, 0, 1, 2, 3)
	t.Logf("4 validators committed %d blocks over libp2p in %v", target, time.Since(start))
	tv.checkSameChain(target)
	reportStats(t, tv.transports)
}

// TestLateValidatorBlockSyncsAndJoins starts three of four validators (30
// of 40 power, enough to commit), lets them run ahead, then starts the
// fourth: it must block-sync from its peers and join consensus.
func TestLateValidatorBlockSyncsAndJoins(t *testing.T) {
	const ahead = 10
	tv := newTestValidators(t, 4)
	for i := range 3 {
		tv.start(i)
	}
	tv.waitHeight(ahead, 0, 1, 2)
	tv.start(3)
	tv.waitHeight(ahead+3, 0, 1, 2, 3)
	tv.checkSameChain(ahead + 3)
	if got := tv.transports[3].Stats().SyncedBlocks; got < ahead-2 {
		t.Fatalf("late validator block-synced %d blocks, want at least %d", got, ahead-2)
	}
	t.Logf("late validator block-synced %d blocks", tv.transports[3].Stats().SyncedBlocks)
}
