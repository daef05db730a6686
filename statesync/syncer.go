package statesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// App is the part of the application state sync drives (app.Application
// has it): the restore calls, and Info to check the result.
type App interface {
	Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error)
	OfferSnapshot(ctx context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error)
	ApplySnapshotChunk(ctx context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error)
}

// Network reaches the peers that serve snapshots (package p2p implements
// it over /bftnode/snapshots/1). Peers are named by their IDs' strings.
type Network interface {
	// SnapshotPeers lists the connected peers.
	SnapshotPeers() []string
	// ListSnapshots asks peer for the snapshots it serves.
	ListSnapshots(ctx context.Context, peer string) ([]Snapshot, error)
	// LoadChunk asks peer for one chunk of a snapshot.
	LoadChunk(ctx context.Context, peer string, s Snapshot, index uint32) ([]byte, error)
	// ReportPeer lowers the score of a peer that misbehaved.
	ReportPeer(peer string, reason error)
}

// Verifier vouches for the state at a height: the app hash a correct
// application has after committing height, from the header of height+1
// as the light client verified it.
type Verifier interface {
	AppHash(ctx context.Context, height uint64) ([]byte, error)
}

// Config tunes a Syncer; its fields follow [statesync].
type Config struct {
	// DiscoveryTime is how long to gather snapshots before choosing one,
	// and how long to look again once every snapshot found was rejected.
	DiscoveryTime time.Duration
	// ChunkRequestTimeout is how long a peer has to send a chunk before
	// it is asked of another peer.
	ChunkRequestTimeout time.Duration
	// ChunkFetchers is how many chunks are fetched at once.
	ChunkFetchers int
	// MaxChunks refuses snapshots of more chunks.
	MaxChunks uint32
	// Logger receives the progress lines; nil discards them.
	Logger *slog.Logger
}

// Errors Sync returns.
var (
	// ErrNoSnapshots: no peer offered a snapshot that could be restored.
	ErrNoSnapshots = errors.New("state sync: no usable snapshot")
	// ErrAborted: the application aborted state sync (ABORT).
	ErrAborted = errors.New("state sync: the application aborted the restore")
	// ErrAppHashMismatch: after a restore, the application's Info did not
	// report the verified height and app hash.
	ErrAppHashMismatch = errors.New("state sync: the restored application does not match the verified header")
)

// Reasons a snapshot or a peer is given up on; the Syncer's loop maps
// each to what is rejected.
var (
	errRejectSnapshot = errors.New("snapshot rejected")
	errRejectFormat   = errors.New("snapshot format rejected")
	errRejectSenders  = errors.New("snapshot senders rejected")
	errRetrySnapshot  = errors.New("application asked to restore the snapshot again")
	// ErrBadChunk is the reason given when a peer is reported for a
	// chunk the application refused (reject_senders).
	ErrBadChunk = errors.New("state sync: the application refused a chunk this peer sent")
)

// maxSnapshotRetries bounds RETRY_SNAPSHOT for one snapshot; past it the
// snapshot is rejected.
const maxSnapshotRetries = 3

// Result is the restored snapshot and the verified app hash the
// application now reports at its height.
type Result struct {
	Snapshot Snapshot
	AppHash  []byte
}

// Syncer restores an application from a peer's snapshot. Use it once.
type Syncer struct {
	cfg    Config
	app    App
	net    Network
	verify Verifier
	log    *slog.Logger
	pool   *pool

	lastReject error // why the last snapshot was given up, for ErrNoSnapshots
}

// New returns a Syncer.
func New(cfg Config, app App, net Network, verify Verifier) *Syncer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.ChunkFetchers = max(cfg.ChunkFetchers, 1)
	return &Syncer{cfg: cfg, app: app, net: net, verify: verify, log: cfg.Logger, pool: newPool()}
}

// Sync discovers snapshots for DiscoveryTime, then restores the best one,
// falling back on the next whenever one is rejected (by the application,
// by the light client or by the final check of the app hash). It fails
// with ErrNoSnapshots when none is left after looking again for
// DiscoveryTime, with ErrAborted when the application aborts, and with the
// application's error when a call to it fails.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	s.log.Info("state sync: discovering snapshots", "discovery_time", s.cfg.DiscoveryTime)
	if err := s.discover(ctx); err != nil {
		return Result{}, err
	}
	lookedAgain := false
	retries := 0
	for {
		snap, ok := s.pool.best()
		if !ok {
			if lookedAgain || s.lastReject == nil {
				return Result{}, s.noSnapshots()
			}
			lookedAgain = true
			s.log.Info("state sync: every snapshot found was rejected; discovering again", "discovery_time", s.cfg.DiscoveryTime)
			if err := s.discover(ctx); err != nil {
				return Result{}, err
			}
			continue
		}
		res, err := s.syncSnapshot(ctx, snap)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		if errors.Is(err, errRetrySnapshot) && retries < maxSnapshotRetries {
			retries++
			s.log.Info("state sync: restoring the snapshot again, as the application asked", "snapshot", snap.String())
			continue
		}
		retries = 0
		switch {
		case errors.Is(err, errRejectFormat):
			s.pool.rejectFormat(snap.Format)
		case errors.Is(err, errRejectSenders):
			for _, p := range s.pool.peersOf(snap) {
				s.pool.rejectPeer(p)
				s.net.ReportPeer(p, err)
			}
		case errors.Is(err, errRejectSnapshot), errors.Is(err, errRetrySnapshot), errors.Is(err, errNoPeers):
			s.pool.reject(snap)
		case errors.Is(err, ErrAppHashMismatch):
			for _, p := range s.pool.peersOf(snap) {
				s.net.ReportPeer(p, err)
			}
			s.pool.reject(snap)
		default:
			return Result{}, err
		}
		s.lastReject = fmt.Errorf("snapshot %s: %w", snap, err)
		s.log.Warn("state sync: snapshot given up, trying the next", "snapshot", snap.String(), "reason", err)
	}
}

func (s *Syncer) noSnapshots() error {
	if s.lastReject != nil {
		return fmt.Errorf("%w: every snapshot peers offered was rejected (the last: %w); check the light client's rpc_servers and the peers' applications", ErrNoSnapshots, s.lastReject)
	}
	return fmt.Errorf("%w: no peer offered a snapshot within discovery_time (%s): check that peers are connected and their applications take snapshots, "+
		"or set statesync.blocksync_fallback = true to replay the chain from genesis instead", ErrNoSnapshots, s.cfg.DiscoveryTime)
}

// discover asks every connected peer (and every peer that connects) for its
// snapshots, for DiscoveryTime.
func (s *Syncer) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DiscoveryTime)
	defer cancel()
	type answer struct {
		peer  string
		snaps []Snapshot
		err   error
	}
	answers := make(chan answer)
	asked := make(map[string]bool)
	pending := 0
	poll := time.NewTicker(max(s.cfg.DiscoveryTime/20, 50*time.Millisecond))
	defer poll.Stop()
	for {
		for _, p := range s.net.SnapshotPeers() {
			if asked[p] {
				continue
			}
			asked[p] = true
			pending++
			go func() {
				snaps, err := s.net.ListSnapshots(ctx, p)
				select {
				case answers <- answer{p, snaps, err}:
				case <-ctx.Done():
				}
			}()
		}
		select {
		case a := <-answers:
			pending--
			if a.err != nil {
				s.log.Debug("state sync: peer did not list snapshots", "peer", a.peer, "err", a.err)
				continue
			}
			for _, snap := range a.snaps {
				if s.pool.add(a.peer, snap) {
					s.log.Info("state sync: discovered snapshot", "peer", a.peer, "height", snap.Height, "format", snap.Format, "chunks", snap.Chunks)
				}
			}
		case <-poll.C:
		case <-ctx.Done():
			if parent := context.Cause(ctx); errors.Is(parent, context.Canceled) {
				return parent
			}
			return nil
		}
	}
}

// syncSnapshot verifies, offers and restores one snapshot.
func (s *Syncer) syncSnapshot(ctx context.Context, snap Snapshot) (Result, error) {
	if snap.Chunks == 0 || (s.cfg.MaxChunks > 0 && snap.Chunks > s.cfg.MaxChunks) {
		return Result{}, fmt.Errorf("%w: %d chunks, want 1 to %d (statesync.max_snapshot_chunks)", errRejectSnapshot, snap.Chunks, s.cfg.MaxChunks)
	}
	appHash, err := s.verify.AppHash(ctx, snap.Height)
	if err != nil {
		return Result{}, fmt.Errorf("%w: the light client cannot verify height %d: %w", errRejectSnapshot, snap.Height, err)
	}
	if err := s.offer(ctx, snap, appHash); err != nil {
		return Result{}, err
	}
	s.log.Info("state sync: restoring snapshot", "height", snap.Height, "format", snap.Format, "chunks", snap.Chunks,
		"app_hash", fmt.Sprintf("%X", appHash), "peers", len(s.pool.peersOf(snap)))
	if err := s.restore(ctx, snap); err != nil {
		return Result{}, err
	}
	info, err := s.app.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		return Result{}, fmt.Errorf("state sync: Info after the restore: %w", err)
	}
	if uint64(info.LastBlockHeight) != snap.Height || !bytes.Equal(info.LastBlockAppHash, appHash) {
		return Result{}, fmt.Errorf("%w: the application reports height %d app hash %X, the verified header says height %d app hash %X",
			ErrAppHashMismatch, info.LastBlockHeight, info.LastBlockAppHash, snap.Height, appHash)
	}
	s.log.Info("state sync: snapshot restored and verified", "height", snap.Height, "app_hash", fmt.Sprintf("%X", appHash))
	return Result{Snapshot: snap, AppHash: appHash}, nil
}

// offer offers snap to the application and maps its answer.
func (s *Syncer) offer(ctx context.Context, snap Snapshot, appHash []byte) error {
	resp, err := s.app.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{
		Snapshot: &abci.Snapshot{Height: snap.Height, Format: snap.Format, Chunks: snap.Chunks, Hash: snap.Hash, Metadata: snap.Metadata},
		AppHash:  appHash,
	})
	if err != nil {
		return fmt.Errorf("state sync: OfferSnapshot: %w", err)
	}
	switch resp.Result {
	case abci.ResponseOfferSnapshot_ACCEPT:
		return nil
	case abci.ResponseOfferSnapshot_ABORT:
		return ErrAborted
	case abci.ResponseOfferSnapshot_REJECT:
		return fmt.Errorf("%w by the application (OfferSnapshot REJECT)", errRejectSnapshot)
	case abci.ResponseOfferSnapshot_REJECT_FORMAT:
		return fmt.Errorf("%w by the application (OfferSnapshot REJECT_FORMAT)", errRejectFormat)
	case abci.ResponseOfferSnapshot_REJECT_SENDER:
		return fmt.Errorf("%w by the application (OfferSnapshot REJECT_SENDER)", errRejectSenders)
	}
	return fmt.Errorf("state sync: OfferSnapshot returned result %v, which ABCI does not define: fix the application", resp.Result)
}
