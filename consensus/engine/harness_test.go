package engine_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/engine/memnet"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/mempool"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

const testChain = "engine-test"

// fastTimeouts keep a round short; the network is in one process.
func fastTimeouts() consensus.Timeouts {
	return consensus.Timeouts{
		Propose: 400 * time.Millisecond, ProposeDelta: 100 * time.Millisecond,
		Prevote: 100 * time.Millisecond, PrevoteDelta: 50 * time.Millisecond,
		Precommit: 100 * time.Millisecond, PrecommitDelta: 50 * time.Millisecond,
	}
}

// node is one validator of a test network, with everything on disk under
// dir so that it can be stopped and started again.
type node struct {
	t    testing.TB
	id   string
	dir  string
	priv ed25519.PrivateKey

	// openApp opens the node's application; default: kvstore in dir/app.
	openApp func() (app.Application, func() error, error)
	// clock, if set, is this node's clock in place of the cluster's.
	clock engine.Clock
	// timers, if set, runs this node's timers: the test steps its engine
	// (see stepped) instead of running it.
	timers engine.Timers
	// byzantine is the node's Byzantine test mode ("" for a correct node).
	byzantine byzantine.Mode

	mu    sync.Mutex
	store nodeStore
	// mem is the node's block store when the cluster's memStore is set; it
	// outlives restarts, as a disk would.
	mem     *engine.MemStore
	app     app.Application
	closeFn func() error
	wal     *wal.WAL
	mp      *mempool.Mempool
	ep      *memnet.Endpoint
	cancel  context.CancelFunc
	done    chan error
	events  int64 // events stepped, for crash timing
	// closeWALAt, if positive, is the count of events at which the engine,
	// in the middle of an event, closes its own WAL (see crashHard).
	closeWALAt int64
	running    bool
	eng        *engine.Engine
	// hardCrash: the WAL was closed under the running engine, which then
	// stops with a storage error at whatever write it reached.
	hardCrash bool
}

type cluster struct {
	t       testing.TB
	net     *memnet.Network
	genesis engine.Genesis
	nodes   []*node
	cfg     func(*engine.Config)
	clock   engine.Clock // nil: the real clock
	// transport, if set, wraps each node's memnet endpoint.
	transport func(engine.Transport) engine.Transport
	// signer, if set, wraps each node's signer.
	signer func(id string, s privval.Signer) privval.Signer
	// walMaxFileSize is the nodes' wal.Options.MaxFileSize (0: default).
	walMaxFileSize int64
	// evidence, if set, gives each node its evidence pool.
	evidence func(id string) engine.EvidencePool
	// memStore gives each node the in-memory fake of the BlockStore port
	// in place of a Pebble store on disk.
	memStore bool
}

// nodeStore is what a node's engine, mempool and the tests use of its
// block store: *blockstore.Store, or memStore.
type nodeStore interface {
	engine.BlockStore
	mempool.Committed
	Close() error
}

// memStore is an engine.MemStore as a nodeStore: closing it loses nothing.
type memStore struct{ *engine.MemStore }

func (memStore) Close() error { return nil }

func newCluster(t testing.TB, n int, seed byte) *cluster {
	t.Helper()
	c := &cluster{t: t, net: memnet.New()}
	vals := make([]*types.Validator, n)
	for i := range n {
		var s [32]byte
		s[0], s[1] = seed, byte(i)
		priv := ed25519.NewKeyFromSeed(s[:])
		nd := &node{t: t, id: fmt.Sprintf("n%d", i), dir: t.TempDir(), priv: priv}
		c.nodes = append(c.nodes, nd)
		vals[i] = types.NewValidator(priv.Public().(ed25519.PublicKey), 10)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	c.genesis = engine.Genesis{
		ChainID: testChain, InitialHeight: 1,
		Time:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Validators: vs, AppState: []byte("{}"),
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			c.stop(nd)
		}
	})
	return c
}

func (c *cluster) config() engine.Config {
	cfg := engine.Config{
		Genesis:             c.genesis,
		Timeouts:            fastTimeouts(),
		CommitDelay:         10 * time.Millisecond,
		CreateEmptyBlocks:   true,
		RebroadcastInterval: 200 * time.Millisecond,
		Logger:              slog.New(slog.DiscardHandler),
	}
	if os.Getenv("BFTNODE_ENGINE_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	return cfg
}

// open opens the node's storage from disk.
func (c *cluster) open(nd *node) error {
	if c.memStore && nd.mem == nil {
		nd.mem = engine.NewMemStore()
	}
	var store nodeStore = memStore{nd.mem}
	if !c.memStore {
		s, err := blockstore.Open(filepath.Join(nd.dir, "store"), blockstore.Options{})
		if err != nil {
			return err
		}
		store = s
	}
	openApp := nd.openApp
	if openApp == nil {
		openApp = func() (app.Application, func() error, error) {
			a, err := kvstore.Open(filepath.Join(nd.dir, "app"))
			if err != nil {
				return nil, nil, err
			}
			return a, a.Close, nil
		}
	}
	a, closeApp, err := openApp()
	if err != nil {
		store.Close()
		return err
	}
	w, err := wal.Open(filepath.Join(nd.dir, "wal"), wal.Options{InitialHeight: c.genesis.InitialHeight, MaxFileSize: c.walMaxFileSize}, nil)
	if err != nil {
		store.Close()
		closeApp()
		return err
	}
	mp, err := mempool.New(mempool.DefaultConfig(), engine.MempoolChecker(a), store, nil, mempool.NopMetrics())
	if err != nil {
		return err
	}
	nd.mu.Lock()
	nd.store, nd.app, nd.closeFn, nd.wal, nd.mp = store, a, closeApp, w, mp
	nd.mu.Unlock()
	return nil
}

// newEngine builds the node's engine over freshly opened storage.
func (c *cluster) newEngine(nd *node) (*engine.Engine, error) {
	if err := c.open(nd); err != nil {
		return nil, err
	}
	pv, err := privval.NewFilePV(nd.priv, filepath.Join(nd.dir, "priv_validator_state.json"))
	if err != nil {
		return nil, err
	}
	nd.ep = c.net.Join(nd.id, guardedSource{nd})
	cfg := c.config()
	cfg.OnEvent = func(consensus.RoundState) {
		nd.mu.Lock()
		defer nd.mu.Unlock()
		nd.events++
		if nd.events == nd.closeWALAt {
			nd.wal.Close() // the core has stepped; its actions are not carried out yet
		}
	}
	var tr engine.Transport = nd.ep
	if c.transport != nil {
		tr = c.transport(tr)
	}
	var signer privval.Signer = pv
	if c.signer != nil {
		signer = c.signer(nd.id, pv)
	}
	deps := engine.Deps{
		Transport: tr, Store: nd.store, App: nd.app, Mempool: nd.mp,
		Signer: signer, WAL: nd.wal, Clock: c.clock,
	}
	if nd.clock != nil {
		deps.Clock = nd.clock
	}
	deps.Timers = nd.timers
	if c.evidence != nil {
		deps.Evidence = c.evidence(nd.id)
	}
	if err := byzantine.Decorate(nd.byzantine, nd.priv, c.genesis.ChainID, nil)(&deps); err != nil {
		return nil, err
	}
	return engine.New(cfg, deps)
}

// start runs the node's engine until stop.
func (c *cluster) start(nd *node) {
	c.t.Helper()
	eng, err := c.newEngine(nd)
	if err != nil {
		c.t.Fatalf("%s: %v", nd.id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd.cancel, nd.done, nd.running = cancel, make(chan error, 1), true
	nd.eng = eng
	go func() { nd.done <- eng.Run(ctx) }()
}

// stepped builds the node's engine for the test to step itself (Start,
// Deliver, Fire) on nd.timers; stop closes its storage.
func (c *cluster) stepped(nd *node) *engine.Engine {
	c.t.Helper()
	eng, err := c.newEngine(nd)
	if err != nil {
		c.t.Fatalf("%s: %v", nd.id, err)
	}
	nd.cancel, nd.done, nd.running = func() {}, make(chan error, 1), true
	nd.done <- nil
	nd.eng = eng
	return eng
}

// stop stops the engine, as a crash would, and closes the storage. Writes
// the engine did not sync may be lost with the buffers dropped here.
func (c *cluster) stop(nd *node) {
	if !nd.running {
		return
	}
	nd.running = false
	nd.cancel()
	if err := <-nd.done; err != nil && !(nd.hardCrash && errors.Is(err, engine.ErrStore)) {
		c.t.Errorf("%s: engine stopped with %v", nd.id, err)
	}
	nd.hardCrash = false
	c.net.Leave(nd.id)
	nd.closeWALAt = 0
	nd.mu.Lock()
	defer nd.mu.Unlock()
	nd.wal.Close()
	nd.store.Close()
	nd.closeFn()
	nd.store = nil
}

// guardedSource serves a node's blocks to memnet peers, and nothing once
// the node is stopped and its store closed.
type guardedSource struct{ nd *node }

func (g guardedSource) with(f func(s nodeStore) error) error {
	g.nd.mu.Lock()
	defer g.nd.mu.Unlock()
	if g.nd.store == nil {
		return errStopped
	}
	return f(g.nd.store)
}

var errStopped = errors.New("node stopped")

func (g guardedSource) Base() (h int64) {
	_ = g.with(func(s nodeStore) error { h = s.Base(); return nil })
	return h
}

func (g guardedSource) Height() (h int64) {
	_ = g.with(func(s nodeStore) error { h = s.Height(); return nil })
	return h
}

func (g guardedSource) LoadBlock(h int64) (b *types.Block, err error) {
	err = g.with(func(s nodeStore) error { b, err = s.LoadBlock(h); return err })
	return b, err
}

func (g guardedSource) LoadBlockCommit(h int64) (c *types.Commit, err error) {
	err = g.with(func(s nodeStore) error { c, err = s.LoadBlockCommit(h); return err })
	return c, err
}

func (g guardedSource) LoadSeenCommit(h int64) (c *types.Commit, err error) {
	err = g.with(func(s nodeStore) error { c, err = s.LoadSeenCommit(h); return err })
	return c, err
}

func (g guardedSource) LoadExtendedCommit(h int64) (c *types.ExtendedCommit, err error) {
	err = g.with(func(s nodeStore) error { c, err = s.LoadExtendedCommit(h); return err })
	return c, err
}

// crashHard lets the node's engine step `after` more events and then
// closes its WAL from inside the engine, after the core has stepped and
// before its actions are carried out: the engine fails at its next WAL
// write, wherever that is in carrying out the event (a vote signed but not
// logged, a block saved but not committed to the app), and stops. Then the
// node is stopped as by stop. It returns the height the node's store held
// when the engine stopped.
func (c *cluster) crashHard(nd *node, after int64) int64 {
	nd.mu.Lock()
	nd.hardCrash = true
	nd.closeWALAt = nd.events + after
	nd.mu.Unlock()
	select {
	case err := <-nd.done:
		nd.done <- err
	case <-time.After(time.Minute): // simulated: the engine steps within a round
		c.t.Errorf("%s: the engine did not step %d events within a minute", nd.id, after)
	}
	h := nd.height()
	c.stop(nd)
	return h
}

func (c *cluster) startAll() {
	for _, nd := range c.nodes {
		c.start(nd)
	}
}

func (nd *node) height() int64 { return guardedSource{nd}.Height() }

func (nd *node) eventCount() int64 {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.events
}

// simTest runs test f in a synctest bubble: the engines, their timers and
// the network run on the bubble's simulated clock, which moves on only when
// every goroutine of the bubble is blocked. Then it empties the sync.Pools:
// Pebble's sstable writer pools tasks that hold a channel, and a channel
// made in one bubble must not be used outside it (the runtime aborts the
// test binary), so none may be handed to the next test.
func simTest(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, f)
	runtime.GC() // a pool's objects survive one GC, as victims
	runtime.GC()
}

// await lets the nodes run on simulated time until cond holds, and fails
// the test once d of simulated time has passed without it. It must be
// called in a synctest bubble (synctest.Test), in which the engines, their
// timers and the network run: cond is checked whenever every goroutine of
// the bubble is blocked, then the bubble's clock moves on by a millisecond.
func await(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		synctest.Wait()
		if cond() {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("%s of simulated time passed waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// awaitHeight awaits every running node's commit of height h.
func (c *cluster) awaitHeight(h int64, d time.Duration) {
	c.t.Helper()
	await(c.t, d, fmt.Sprintf("height %d", h), c.atHeight(h))
}

// atHeight reports whether every running node has committed height h.
func (c *cluster) atHeight(h int64) func() bool {
	return func() bool {
		for _, nd := range c.nodes {
			if nd.running && nd.height() < h {
				return false
			}
		}
		return true
	}
}

// haveTxs reports whether every node has committed every tx of txs.
func (c *cluster) haveTxs(txs [][]byte) func() bool {
	return func() bool {
		for _, nd := range c.nodes {
			for _, tx := range txs {
				if !nd.hasTx(tx) {
					return false
				}
			}
		}
		return true
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitHeight waits until every running node has committed height h.
func (c *cluster) waitHeight(h int64, d time.Duration) {
	c.t.Helper()
	waitFor(c.t, d, fmt.Sprintf("height %d", h), c.atHeight(h))
}

// checkSameChain checks that all nodes hold identical blocks and app
// hashes up to the lowest height among them, and returns that height.
func (c *cluster) checkSameChain() int64 {
	c.t.Helper()
	minH := int64(-1)
	for _, nd := range c.nodes {
		if h := nd.height(); minH < 0 || h < minH {
			minH = h
		}
	}
	ref := c.nodes[0]
	for h := int64(1); h <= minH; h++ {
		want, err := ref.store.LoadBlock(h)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, nd := range c.nodes[1:] {
			got, err := nd.store.LoadBlock(h)
			if err != nil {
				c.t.Fatal(err)
			}
			if got.Hash() != want.Hash() || !bytes.Equal(got.Header.AppHash, want.Header.AppHash) {
				c.t.Fatalf("height %d: %s has block %X app %X, %s has %X app %X", h, nd.id, got.Hash(), got.Header.AppHash, ref.id, want.Hash(), want.Header.AppHash)
			}
		}
	}
	return minH
}

// submit adds a tx to a node's mempool.
func (nd *node) submit(tx []byte) error {
	nd.mu.Lock()
	mp := nd.mp
	nd.mu.Unlock()
	_, err := mp.CheckTx(context.Background(), tx)
	return err
}

// txHeight is the height of the committed block that holds tx (0: none).
func (nd *node) txHeight(tx []byte) int64 {
	for h := nd.height(); h > 0; h-- {
		b, err := guardedSource{nd}.LoadBlock(h)
		if err != nil {
			nd.t.Fatalf("%s: %v", nd.id, err)
		}
		if slices.ContainsFunc(b.Data.Txs, func(x []byte) bool { return bytes.Equal(x, tx) }) {
			return h
		}
	}
	return 0
}

// hasTx reports whether the node's store holds tx in a committed block.
func (nd *node) hasTx(tx []byte) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.store.HasTx(mempool.TxHash(tx))
}
