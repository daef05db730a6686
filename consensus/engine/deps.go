package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/mempool"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// Errors of the engine.
var (
	// ErrConfig means the Config or Deps are unusable.
	ErrConfig = errors.New("engine: invalid configuration")
	// ErrAppAhead means the application has committed blocks the block
	// store does not hold: the node cannot continue from its store.
	ErrAppAhead = errors.New("engine: the application is ahead of the block store")
	// ErrAppHashMismatch means the application's app hash disagrees with
	// the one the block store recorded for the same height.
	ErrAppHashMismatch = errors.New("engine: the application's app hash disagrees with the block store")
	// ErrApp wraps a failed application call; the engine stops on it.
	ErrApp = errors.New("engine: application call failed")
	// ErrStore wraps a failed block-store or WAL operation; the engine
	// stops on it.
	ErrStore = errors.New("engine: storage failed")
	// ErrTransportClosed means the transport closed its inbound channel.
	ErrTransportClosed = errors.New("engine: transport closed")
	// ErrBadMessage is what a peer is reported with for a message that
	// failed validation.
	ErrBadMessage = errors.New("engine: invalid message")
)

// BlockStore is the durable chain: blocks, commits and the node's state.
// It speaks domain values only; *blockstore.Store satisfies it, and
// MemStore is its in-memory fake.
type BlockStore interface {
	BlockSource
	// LoadState is the state after the last executed block; an error
	// wrapping blockstore.ErrNotFound before the first SaveState.
	LoadState() (*blockstore.State, error)
	SaveState(st *blockstore.State) error
	// LoadValidators is the validator set of height, as SaveState stored
	// it (with its proposer priorities).
	LoadValidators(height int64) (*types.ValidatorSet, error)
	// LoadFinalizeBlockResponse is the stored response of height, read
	// when a rolled-back state catches up with the application.
	LoadFinalizeBlockResponse(height int64) ([]byte, error)
	// SaveDecided writes what deciding a height leaves, atomically and
	// synced: the block with its ID and the commit this node saw for it,
	// that commit with its vote extensions (ext; nil where extensions are
	// not in force), the application's FinalizeBlock response to it
	// (encoded; it holds the tx results) and the state after it.
	SaveDecided(block *types.Block, id types.BlockID, seen *types.Commit, ext *types.ExtendedCommit, finalizeResp []byte, st *blockstore.State) error
	// SaveExecuted writes, atomically and synced, the FinalizeBlock
	// response of block height, stored already and executed again after a
	// rollback, and the state after it.
	SaveExecuted(height int64, finalizeResp []byte, st *blockstore.State) error
}

// Mempool is the part of *mempool.Mempool the engine uses.
type Mempool interface {
	// Lock and Unlock bracket a block's commit (see mempool.Update).
	Lock()
	Unlock()
	ReapMaxBytesMaxGas(maxBytes, maxGas int64) [][]byte
	Update(ctx context.Context, height int64, committedTxs [][]byte, recheck bool) error
	TxsAvailable() <-chan struct{}
}

// Clock reads the time and runs timers. RealClock is the system's; tests
// may use FakeClock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d; stop cancels it.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Genesis is what the chain starts from. Its ConsensusParams are those of
// the first height (a zero block.max_bytes means 4 MiB); the application's
// updates replace them from the height after the block that returns them.
type Genesis struct {
	ChainID         string
	InitialHeight   int64 // default 1
	Time            time.Time
	Validators      *types.ValidatorSet
	AppState        []byte
	ConsensusParams blockstore.ConsensusParams
}

// Config configures an Engine.
type Config struct {
	Genesis  Genesis
	Timeouts consensus.Timeouts
	// CommitDelay is the wait after a block is committed before the next
	// height starts (timeout_commit), so that late precommits and txs can
	// arrive.
	CommitDelay time.Duration
	// CreateEmptyBlocks makes the proposer propose even with an empty
	// mempool. When false, a proposer waits for txs, or for
	// CreateEmptyBlocksInterval if that is positive.
	CreateEmptyBlocks         bool
	CreateEmptyBlocksInterval time.Duration
	// RebroadcastInterval is how often this node re-sends its own proposal
	// and votes of the current height and re-announces its status, so a
	// peer that missed them (a reconnect) can progress. Default: the
	// propose timeout.
	RebroadcastInterval time.Duration
	// BlockTimeTolerance, when positive, makes a block dated that far or
	// more ahead of the Clock invalid (block_time_tolerance), besides BFT
	// time's checks. Zero turns the check off.
	BlockTimeTolerance time.Duration
	Logger             *slog.Logger // nil discards
	// OnEvent, if set, is called on the engine goroutine after each event
	// the core has stepped (metrics, tests). It must not block.
	OnEvent func(consensus.RoundState)
	// OnEvidence, if set, is called on the engine goroutine once for each
	// new equivocation the engine records (see Engine.Evidence). It must
	// not block.
	OnEvidence func(types.DuplicateVoteEvidence)
}

// EvidencePool is the part of *evidence.Pool the engine uses: it proposes
// the pending evidence, checks a proposal's, marks a committed block's and
// is given each equivocation the engine detects once the height's block is
// committed.
type EvidencePool interface {
	Add(types.Evidence) error
	Pending(maxBytes int64) types.EvidenceList
	CheckBlockEvidence(types.EvidenceList) error
	MarkCommitted(height int64, list types.EvidenceList) error
}

// Deps are the engine's collaborators. All are required except Clock
// (default RealClock), Timers (needed only to step the engine without
// Run), Evidence and WrapCore.
type Deps struct {
	Transport Transport
	Store     BlockStore
	App       app.Application
	Mempool   Mempool
	Signer    privval.Signer
	WAL       *wal.WAL
	Clock     Clock
	// Timers runs the engine's timers when the caller steps the engine
	// itself (Start, Deliver, Fire); Run ignores it and runs them on Clock.
	Timers Timers
	// Evidence, if set, puts evidence in blocks; nil proposes none and
	// refuses a proposal that carries some.
	Evidence EvidencePool
	// WrapCore, if set, decorates the consensus state machine the engine
	// builds; the engine then steps what it returns. Nil steps the state
	// machine itself.
	WrapCore func(*consensus.State) Core
}

// Core is the consensus state machine as the engine drives it:
// *consensus.State, or what Deps.WrapCore made of it.
type Core interface {
	Step(consensus.Event) ([]consensus.Action, error)
	RoundState() consensus.RoundState
}

// The real implementations satisfy the interfaces.
var (
	_ BlockStore   = (*blockstore.Store)(nil)
	_ Mempool      = (*mempool.Mempool)(nil)
	_ EvidencePool = (*evidence.Pool)(nil)
)
