package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/blockstore/index"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/internal/telemetry"
	"github.com/bftnode/bftnode/mempool"
	"github.com/bftnode/bftnode/p2p"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/ui"
)

// Version is the software version reported by the RPC and `bftnode version`.
const Version = "0.1.0"

// Node is one running bftnode. Create it with New, run it with Run.
type Node struct {
	cfg     config.Config
	log     *slog.Logger
	genesis *config.GenesisDoc
	genJSON []byte

	store     *blockstore.Store
	evidence  *evidence.Pool
	wal       *wal.WAL
	signer    privval.Signer
	app       *appConns
	mempool   *mempool.Mempool
	appPool   *mempool.AppPool // with [mempool] type = "app"; nil otherwise
	transport *p2p.Transport
	engine    *engine.Engine
	bus       *eventbus.Bus
	index     *index.Index
	rpc       *rpc.Server
	registry  *prometheus.Registry
	metrics   *metrics

	round     atomic.Pointer[consensus.RoundState]
	committed chan struct{} // a block was committed (buffered, 1)
	appRetain atomic.Int64  // the highest retain_height the application returned from Commit
	published int64         // highest height given to the event bus and index

	closeOnce sync.Once
	closers   []func() error // in opening order; Close runs them backwards
}

// New opens everything the node needs from cfg (whose RootDir is the home
// directory). On error, whatever was opened is closed again.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (*Node, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	n := &Node{cfg: cfg, log: logger, committed: make(chan struct{}, 1)}
	opened := false
	defer func() {
		if !opened {
			_ = n.Close()
		}
	}()
	var err error
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if n.genJSON, err = os.ReadFile(cfg.GenesisFile()); err != nil {
		return nil, fmt.Errorf("read genesis: %w (run `bftnode init` or `bftnode testnet` first)", err)
	}
	if n.genesis, err = config.ParseGenesis(n.genJSON); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.GenesisFile(), err)
	}
	nodeKey, err := config.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, err
	}
	if n.signer, err = n.openSigner(ctx); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	// One block cache for all the node's databases; each holds a reference
	// until it closes, this one goes when the node does.
	cache := pebble.NewCache(cfg.Storage.BlockCacheMB << 20)
	n.closers = append(n.closers, func() error { cache.Unref(); return nil })
	if n.store, err = blockstore.Open(cfg.BlockstoreDir(), blockstore.Options{Logger: logger.With("module", "blockstore"), Cache: cache}); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.store.Close)
	if n.index, err = index.Open(cfg.TxIndexDir(), index.Options{Logger: logger.With("module", "txindex"), Blocks: n.store, Cache: cache}); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.index.Close)
	evChain := evidenceChain{store: n.store, genesis: n.genesis}
	if n.evidence, err = evidence.Open(filepath.Join(cfg.DataDir(), "evidence"), evChain, evidence.Options{Logger: logger.With("module", "evidence"), Cache: cache}); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.evidence.Close)
	genesis, err := engineGenesis(n.genesis)
	if err != nil {
		return nil, err
	}
	// A WAL record holds a whole proposed block: its limit follows the
	// largest block consensus allows, with room for the proposal around it.
	maxBlock, err := maxBlockBound(n.store, genesis.ConsensusParams)
	if err != nil {
		return nil, err
	}
	walOpts := wal.Options{InitialHeight: n.genesis.InitialHeight, MaxRecordSize: int(maxBlock) + 1<<20,
		MaxFileSize: cfg.Consensus.WALMaxFileSize}
	if n.wal, err = wal.Open(cfg.WALDir(), walOpts, logger.With("module", "wal")); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.wal.Close)
	if n.app, err = openApp(ctx, cfg.ProxyApp, cfg.AppDBDir(), cache); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.app.close)

	n.registry = prometheus.NewRegistry()
	mpMetrics, err := mempool.NewMetrics(n.registry)
	if err != nil {
		return nil, err
	}
	if n.metrics, err = newMetrics(n.registry); err != nil {
		return nil, err
	}
	if err := n.registry.Register(newEvidenceCollector(n.evidence)); err != nil {
		return nil, err
	}
	mpCfg := mempool.Config{MaxTxs: cfg.Mempool.Size, MaxBytes: cfg.Mempool.MaxTxsBytes, MaxTxBytes: cfg.Mempool.MaxTxBytes, CacheSize: cfg.Mempool.CacheSize, MaxWait: cfg.Mempool.MaxTxWait}
	if n.mempool, err = mempool.New(mpCfg, engine.MempoolChecker(n.app.app), n.store, logger.With("module", "mempool"), mpMetrics); err != nil {
		return nil, err
	}
	var txSource p2p.TxSource = n.mempool
	var engineMempool engine.Mempool = n.mempool
	if cfg.Mempool.Type == config.MempoolTypeApp {
		mc := cfg.Mempool
		if n.appPool, err = mempool.NewAppPool(mempool.AppConfig{MaxTxBytes: mc.MaxTxBytes, SeenCacheSize: mc.SeenCacheSize,
			ReapMaxBytes: mc.ReapMaxBytes, ReapMaxGas: mc.ReapMaxGas, ReapInterval: mc.ReapInterval, CheckTxRetryDelay: mc.CheckTxRetryDelay},
			engine.MempoolChecker(n.app.app), appSideMempool{n.app.app}, logger.With("module", "mempool"), mpMetrics); err != nil {
			return nil, err
		}
		txSource, engineMempool = n.appPool, n.appPool
	}

	listen, err := config.ListenMultiaddr(cfg.P2P.ListenAddress)
	if err != nil {
		return nil, err
	}
	if n.transport, err = p2p.New(p2p.Config{
		ChainID:         n.genesis.ChainID,
		PrivKey:         nodeKey.PrivKey,
		ListenAddrs:     []string{listen.String()},
		PersistentPeers: config.SplitList(cfg.P2P.PersistentPeers),
		BootstrapPeers:  config.SplitList(cfg.P2P.BootstrapPeers),
		MaxPeers:        cfg.P2P.MaxNumPeers,
		Source:          n.store,
		Validators:      n.store,
		Logger:          logger,
		MaxBlockBytes:   int(maxBlock),
		MaxTxBytes:      cfg.Mempool.MaxTxBytes,
		TxSource:        txSource,
		EvidenceSource:  evidenceGossip{n.evidence},
	}); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, n.transport.Close)
	n.transport.ServeSnapshots(n.app.app)

	cc := cfg.Consensus
	commitDelay := cc.TimeoutCommit
	if cc.SkipTimeoutCommit {
		commitDelay = 0
	}
	deps := engine.Deps{
		Transport: n.transport,
		Store:     n.store,
		App:       engineApp{Application: n.app.app, params: initChainParams(n.genesis), committed: n.onCommitted},
		Mempool:   engineMempool,
		Signer:    n.signer,
		WAL:       n.wal,
		Evidence:  n.evidence,
	}
	for _, decorate := range o.decorators {
		if err := decorate(&deps); err != nil {
			return nil, err
		}
	}
	n.bus = eventbus.New(logger.With("module", "events"), 0)
	deps.WrapCore = observeCore(deps.WrapCore, n.bus)
	if n.engine, err = engine.New(engine.Config{
		Genesis: genesis,
		Timeouts: consensus.Timeouts{
			Propose: cc.TimeoutPropose, ProposeDelta: cc.TimeoutProposeDelta,
			Prevote: cc.TimeoutPrevote, PrevoteDelta: cc.TimeoutPrevoteDelta,
			Precommit: cc.TimeoutPrecommit, PrecommitDelta: cc.TimeoutPrecommitDelta,
		},
		CommitDelay:               commitDelay,
		CreateEmptyBlocks:         cc.CreateEmptyBlocks,
		CreateEmptyBlocksInterval: cc.CreateEmptyBlocksInterval,
		BlockTimeTolerance:        cc.BlockTimeTolerance,
		Logger:                    logger.With("module", "consensus"),
		OnEvent:                   n.onRound,
		OnEvidence:                n.metrics.observeEvidence,
	}, deps); err != nil {
		return nil, err
	}

	rpcCfg := rpc.DefaultConfig()
	rpcCfg.ListenAddress = cfg.RPC.ListenAddress
	rpcCfg.MaxBodyBytes = cfg.RPC.MaxBodyBytes
	rpcCfg.MaxOpenConnections = cfg.RPC.MaxOpenConnections
	rpcCfg.MaxSubscriptionsPerClient = cfg.RPC.MaxSubscriptionsPerClient
	rpcCfg.Unsafe = cfg.RPC.Unsafe
	if cfg.RPC.UI {
		rpcCfg.UI = ui.Handler(nil)
	}
	if n.rpc, err = rpc.NewServer(rpcCfg, &backend{n: n}, logger.With("module", "rpc")); err != nil {
		return nil, err
	}
	opened = true
	return n, nil
}

// Run starts the node and blocks until ctx ends or a part of the node
// fails; then it stops every part and returns the first failure (nil for a
// clean stop).
func (n *Node) Run(ctx context.Context) error {
	defer n.Close()
	// The event index persists: it catches up with the blocks stored since
	// it last indexed one, which the RPC's tx_search and block_search need.
	if err := n.resumeIndex(); err != nil {
		return err
	}
	if err := n.publishCommitted(); err != nil {
		return err
	}
	// The listeners open first, so that a port in use stops the node before
	// anything runs; on a failure the ones already open are closed.
	var opened []net.Listener
	closeOpened := func() {
		for _, l := range opened {
			_ = l.Close()
		}
	}
	listen := func(network, addr, what string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		if err != nil {
			closeOpened()
			return nil, fmt.Errorf("%s listener on %s: %w", what, addr, err)
		}
		opened = append(opened, l)
		return l, nil
	}
	rpcLn, err := rpc.Listen(n.cfg.RPC.ListenAddress)
	if err != nil {
		return fmt.Errorf("RPC listener on %s: %w (is another node running? change [rpc] laddr)", n.cfg.RPC.ListenAddress, err)
	}
	opened = append(opened, rpcLn)
	var metricsLn, pprofLn net.Listener
	if n.cfg.Instrumentation.Prometheus {
		if metricsLn, err = listen("tcp", n.cfg.Instrumentation.PrometheusListenAddr, "metrics"); err != nil {
			return err
		}
	}
	if addr := n.cfg.RPC.PprofListenAddress; addr != "" {
		if pprofLn, err = listen("tcp", addr, "pprof"); err != nil {
			return fmt.Errorf("%w (change [rpc] pprof_laddr)", err)
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := n.transport.Start(ctx); err != nil {
		closeOpened()
		return err
	}
	if err := n.stateSync(ctx); err != nil {
		closeOpened() // the node may be started again, on the same ports
		return err
	}
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				n.log.Error("node part failed; stopping the node", "part", name, "err", err)
				cancel(fmt.Errorf("%s: %w", name, err))
				return
			}
			cancel(nil) // a part that returns ends the node
		}()
	}
	run("consensus", n.engine.Run)
	run("rpc", func(ctx context.Context) error { return n.rpc.Serve(ctx, rpcLn) })
	if metricsLn != nil {
		run("metrics", func(ctx context.Context) error { return telemetry.ServeMetrics(ctx, metricsLn, n.registry, n.log) })
	}
	if pprofLn != nil {
		run("pprof", func(ctx context.Context) error { return telemetry.ServePprof(ctx, pprofLn, n.log) })
	}
	run("tx gossip", n.pumpTxs)
	if n.appPool != nil {
		run("app mempool reaper", n.appPool.Run)
	}
	run("events", n.pumpEvents)
	run("metrics sampler", n.sampleMetrics)
	run("pruner", n.runPruner)
	n.log.Info("node started", "chain", n.genesis.ChainID, "moniker", n.cfg.Moniker,
		"validator", fmt.Sprintf("%X", n.signer.Address()), "p2p_id", n.transport.ID(), "p2p_addrs", n.transport.Addrs(), "rpc", n.cfg.RPC.ListenAddress)
	<-ctx.Done()
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return withAppAdvice(cause)
	}
	return nil
}

// openSigner loads the key file, or, with priv_validator_laddr, listens
// there and waits for the remote signer to dial in. Either way the
// double-sign guard keeps its state in priv_validator_state_file.
func (n *Node) openSigner(ctx context.Context) (privval.Signer, error) {
	cfg := n.cfg
	if cfg.PrivValidatorListenAddr == "" {
		return privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	}
	// The engine waits for each signature: a signer that does not answer
	// must cost no more than a round's step.
	cc := cfg.Consensus
	rs, err := privval.ListenRemote(ctx, cfg.PrivValidatorListenAddr, n.genesis.ChainID, cfg.PrivValidatorStateFile(), privval.RemoteOptions{
		Timeout: min(time.Second, cc.TimeoutPrevote, cc.TimeoutPrecommit),
		Logger:  n.log.With("module", "privval"),
	})
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, rs.Close)
	return rs, nil
}

// Close releases everything New opened, in reverse order. Run calls it.
func (n *Node) Close() error {
	var errs []error
	n.closeOnce.Do(func() {
		for i := len(n.closers) - 1; i >= 0; i-- {
			if err := n.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// onRound records the engine's position for the RPC and metrics; it runs
// on the engine goroutine and must not block.
func (n *Node) onRound(rs consensus.RoundState) {
	n.round.Store(&rs)
	n.metrics.observeRound(rs)
}

// pumpTxs feeds txs from peers to the mempool. The transport gossips the
// accepted ones on from the mempool, to the peers that did not send them.
func (n *Node) pumpTxs(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case in := <-n.transport.Txs():
			for _, tx := range in.Txs {
				// A refusal (seen, committed, full) is the mempool's to
				// count; a tx the application calls invalid costs the
				// peer a little.
				if err := n.checkPeerTx(ctx, tx, in.From); errors.Is(err, mempool.ErrRejected) {
					n.transport.RejectedTx(in.From, err)
				}
			}
		}
	}
}

// checkPeerTx hands a peer's tx to the mempool, or to the application's
// InsertTx with an app-side mempool.
func (n *Node) checkPeerTx(ctx context.Context, tx []byte, peer string) error {
	if n.appPool != nil {
		return n.appPool.InsertTx(ctx, tx, peer)
	}
	_, err := n.mempool.CheckTxFrom(ctx, tx, peer)
	return err
}
