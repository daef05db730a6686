package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/light"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/statesync"
	"github.com/bftnode/bftnode/types"
)

// stateSync restores the application from a peer's snapshot when
// [statesync] enable is set and the node has no blocks yet, then
// bootstraps the block store and state at the snapshot's height; block
// sync and consensus go on from there. With no usable snapshot it fails,
// or, with blocksync_fallback, leaves the node to block-sync from genesis.
func (n *Node) stateSync(ctx context.Context) error {
	sc := n.cfg.StateSync
	if !sc.Enable {
		return nil
	}
	if n.store.Height() > 0 {
		n.log.Info("state sync: skipped, the node has blocks already", "height", n.store.Height())
		return nil
	}
	start := time.Now()
	log := n.log.With("module", "statesync")
	sp, err := newStateProvider(ctx, sc, n.genesis, log)
	if err != nil {
		return err
	}
	defer sp.close()
	syncer := statesync.New(statesync.Config{
		DiscoveryTime:       sc.DiscoveryTime,
		ChunkRequestTimeout: sc.ChunkRequestTimeout,
		ChunkFetchers:       sc.ChunkFetchers,
		MaxChunks:           uint32(sc.MaxSnapshotChunks),
		Logger:              log,
	}, n.app.app, n.transport, sp)
	res, err := syncer.Sync(ctx)
	if errors.Is(err, statesync.ErrNoSnapshots) && sc.BlockSyncFallback {
		log.Error("state sync failed; block-syncing from genesis instead (statesync.blocksync_fallback)", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	h := int64(res.Snapshot.Height)
	if err := sp.bootstrap(ctx, n.store, h); err != nil {
		return fmt.Errorf("state sync: the application is restored at height %d, but the node's state could not be built: %w; "+
			"reset the application's and the node's data and start again", h, err)
	}
	// The synced height's block has no stored results: the event index
	// starts after it.
	n.published = h
	log.Info("state sync: done; block sync to the tip, then consensus", "height", h, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// stateProvider verifies heights with a light client over rpc_servers
// (statesync.Verifier) and builds the node's state at the synced height.
type stateProvider struct {
	client  *light.Client
	primary *light.RPCProvider
	rpc     *rpc.Client
	store   *light.Store
	genesis *config.GenesisDoc
	log     *slog.Logger
}

func newStateProvider(ctx context.Context, sc config.StateSyncConfig, genesis *config.GenesisDoc, log *slog.Logger) (*stateProvider, error) {
	servers := sc.RPCServerList()
	var providers []light.Provider
	var primary *light.RPCProvider
	for i, addr := range servers {
		p, err := light.NewRPCProvider(addr)
		if err != nil {
			return nil, fmt.Errorf("state sync: statesync.rpc_servers: %w", err)
		}
		if i == 0 {
			primary = p
		}
		providers = append(providers, p)
	}
	rc, err := rpc.NewClient(servers[0], nil)
	if err != nil {
		return nil, fmt.Errorf("state sync: statesync.rpc_servers: %w", err)
	}
	// The light blocks are needed only while syncing: kept in memory.
	store, err := light.OpenStore("statesync-light", vfs.NewMem(), log)
	if err != nil {
		return nil, err
	}
	opts := light.ClientOptions{VerifyOptions: light.DefaultVerifyOptions, Logger: log}
	opts.TrustingPeriod = sc.TrustPeriod
	var hash types.Hash
	copy(hash[:], sc.TrustHashBytes())
	client, err := light.NewClient(ctx, genesis.ChainID, light.TrustOptions{Height: sc.TrustHeight, Hash: hash}, primary, providers[1:], store, opts)
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("state sync: light client (statesync.trust_height, trust_hash, rpc_servers): %w", err)
	}
	return &stateProvider{client: client, primary: primary, rpc: rc, store: store, genesis: genesis, log: log}, nil
}

func (sp *stateProvider) close() { _ = sp.store.Close() }

// verifyWait is how long to wait for a height the RPC servers do not have
// yet (a snapshot of the latest height needs the next two headers).
const verifyWait = 30 * time.Second

// verify returns the light block at height, verified, waiting up to
// verifyWait for the chain to reach it.
func (sp *stateProvider) verify(ctx context.Context, height int64) (*light.LightBlock, error) {
	deadline := time.Now().Add(verifyWait)
	for {
		lb, err := sp.client.VerifyLightBlockAtHeight(ctx, height)
		if !errors.Is(err, light.ErrLightBlockNotFound) || time.Now().After(deadline) {
			return lb, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// AppHash is the app hash after height, from the verified header of
// height+1; the header of height+2 is verified too, as the state built
// at height needs its validators.
func (sp *stateProvider) AppHash(ctx context.Context, height uint64) ([]byte, error) {
	h := int64(height)
	next, err := sp.verify(ctx, h+1)
	if err != nil {
		return nil, err
	}
	if _, err := sp.verify(ctx, h+2); err != nil {
		return nil, err
	}
	return next.Header.AppHash, nil
}

// bootstrap saves, in one batch, the block at height (from the primary,
// matching the verified header) with its verified commit, and the state
// after it: validator sets of height, height+1 and height+2 with the
// primary's proposer priorities (their hashes checked against the verified
// headers), and the consensus parameters of height+1 (checked against the
// header's consensus hash).
func (sp *stateProvider) bootstrap(ctx context.Context, store *blockstore.Store, height int64) error {
	var lbs [3]*light.LightBlock
	for i := range lbs {
		lb, err := sp.verify(ctx, height+int64(i))
		if err != nil {
			return err
		}
		lbs[i] = lb
	}
	last, cur, next := lbs[0], lbs[1], lbs[2]
	block, err := sp.primary.Block(ctx, height)
	if err != nil {
		return err
	}
	if err := block.ValidateBasic(); err != nil {
		return fmt.Errorf("block %d from %s: %w", height, sp.primary.ID(), err)
	}
	if block.Hash() != last.Hash() || last.Commit.BlockID.Hash != last.Hash() {
		return fmt.Errorf("block %d from %s is not the verified one (%X)", height, sp.primary.ID(), last.Hash())
	}
	var sets [3]*types.ValidatorSet
	for i, lb := range lbs {
		vs, err := sp.primary.ValidatorSetWithPriorities(ctx, lb.Height(), lb.Header.ProposerAddress)
		if err != nil {
			return err
		}
		if vs.Hash() != lb.Header.ValidatorsHash {
			return fmt.Errorf("validators at height %d from %s do not match the verified header", lb.Height(), sp.primary.ID())
		}
		sets[i] = vs
	}
	params, err := sp.consensusParams(ctx, height+1)
	if err != nil {
		return err
	}
	if params.Hash() != cur.Header.ConsensusHash {
		return fmt.Errorf("consensus params at height %d from %s do not match the verified header", height+1, sp.primary.ID())
	}
	st := &blockstore.State{
		ChainID:                     sp.genesis.ChainID,
		InitialHeight:               sp.genesis.InitialHeight,
		LastBlockHeight:             height,
		LastBlockID:                 last.Commit.BlockID,
		LastBlockTime:               last.Header.Time,
		LastValidators:              sets[0],
		Validators:                  sets[1],
		NextValidators:              sets[2],
		LastHeightValidatorsChanged: next.Height(),
		ConsensusParams:             params,
		LastResultsHash:             cur.Header.LastResultsHash,
		AppHash:                     cur.Header.AppHash,
		AppVersion:                  cur.Header.Version.App,
	}
	b := store.NewBatch()
	defer b.Close()
	if err := b.SaveBlock(block, last.Commit.BlockID, last.Commit); err != nil {
		return err
	}
	if err := b.SaveState(st); err != nil {
		return err
	}
	return b.Commit()
}

// consensusParams reads the parameters in force at height from the
// primary's RPC (checked by the caller against a verified header).
func (sp *stateProvider) consensusParams(ctx context.Context, height int64) (blockstore.ConsensusParams, error) {
	var res struct {
		ConsensusParams config.ConsensusParams `json:"consensus_params"`
	}
	if err := sp.rpc.Call(ctx, "consensus_params", map[string]string{"height": strconv.FormatInt(height, 10)}, &res); err != nil {
		return blockstore.ConsensusParams{}, fmt.Errorf("consensus params at height %d from %s: %w", height, sp.primary.ID(), err)
	}
	return paramsFromConfig(res.ConsensusParams), nil
}
