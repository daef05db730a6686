package mempool

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// CheckResult is the application's answer to CheckTx (ABCI CheckTx).
type CheckResult struct {
	Code      uint32 // 0 means the tx is valid
	Log       string // why the tx was rejected, for a non-zero Code
	Priority  int64  // higher is reaped first; 0 for all txs gives FIFO
	GasWanted int64  // counted against the maxGas of a reap
}

// IsOK reports whether the application accepted the tx.
func (r CheckResult) IsOK() bool { return r.Code == 0 }

// Checker validates txs against the application's state. Recheck is true
// when the tx was already admitted and is being revalidated after a block.
type Checker interface {
	CheckTx(ctx context.Context, tx []byte, recheck bool) (CheckResult, error)
}

// Committed answers whether a tx with this hash (see [TxHash]) is in a
// committed block. The block store's tx index implements it.
type Committed interface {
	HasTx(hash [32]byte) bool
}

// TxHash is the hash that identifies a tx: SHA-256 of its bytes.
func TxHash(tx []byte) [32]byte { return sha256.Sum256(tx) }

// Sentinel errors returned by CheckTx, wrapped with details; test them with
// errors.Is.
var (
	ErrTxTooLarge  = errors.New("mempool: tx too large")
	ErrMempoolFull = errors.New("mempool is full") // CometBFT's words, which clients look for
	ErrTxInCache   = errors.New("mempool: tx already seen")
	ErrTxCommitted = errors.New("mempool: tx already committed")
	ErrRejected    = errors.New("mempool: tx rejected by the application")
)

// Config holds the limits of a mempool.
type Config struct {
	MaxTxs     int   // most txs held at once
	MaxBytes   int64 // most bytes of txs held at once
	MaxTxBytes int   // largest tx accepted
	CacheSize  int   // at least how many recently seen tx hashes are remembered (at most twice as many)
	// MaxWait, if positive, bounds how long txs queue in the pool: once a
	// tx of a block waited longer than MaxWait (or twice the shortest time
	// between the recent blocks, if longer) between admission and commit,
	// new txs are refused with ErrMempoolFull while the pool holds as many
	// txs as blocks commit in MaxWait (or that shortest time), at the rate
	// measured over the recent blocks, until a block's txs waited half as
	// long. See admission.go.
	MaxWait time.Duration
}

// DefaultConfig returns the limits a node uses unless configured otherwise.
func DefaultConfig() Config {
	return Config{
		MaxTxs:     5000,
		MaxBytes:   1 << 30, // 1 GiB
		MaxTxBytes: 1 << 20, // 1 MiB
		CacheSize:  10000,
		MaxWait:    300 * time.Millisecond,
	}
}

// Validate reports the first limit that is not usable.
func (c Config) Validate() error {
	switch {
	case c.MaxTxs <= 0:
		return fmt.Errorf("mempool: MaxTxs must be positive, got %d", c.MaxTxs)
	case c.MaxBytes <= 0:
		return fmt.Errorf("mempool: MaxBytes must be positive, got %d", c.MaxBytes)
	case c.MaxTxBytes <= 0 || int64(c.MaxTxBytes) > c.MaxBytes:
		return fmt.Errorf("mempool: MaxTxBytes must be in [1, MaxBytes=%d], got %d", c.MaxBytes, c.MaxTxBytes)
	case c.CacheSize <= 0:
		return fmt.Errorf("mempool: CacheSize must be positive, got %d", c.CacheSize)
	case c.MaxWait < 0:
		return fmt.Errorf("mempool: MaxWait must not be negative (0 turns it off), got %v", c.MaxWait)
	}
	return nil
}

// entry is one admitted tx. Only seq, hash and tx are immutable; the other
// fields are guarded by Mempool.txsMtx.
type entry struct {
	seq       uint64
	hash      [32]byte
	tx        []byte
	priority  int64
	gasWanted int64
	senders   []string // peers known to have the tx (they sent, announced or asked for it); usually few
	added     time.Time
}

// addSender records that peer (if not empty) sent the tx.
func (e *entry) addSender(peer string) {
	if peer != "" && !e.sentBy(peer) {
		e.senders = append(e.senders, peer)
	}
}

func (e *entry) sentBy(peer string) bool { return slices.Contains(e.senders, peer) }

// Mempool is a pool of valid txs waiting for a block. It is safe for
// concurrent use; see the package documentation for the locking protocol.
type Mempool struct {
	cfg       Config
	checker   Checker
	committed Committed
	logger    *slog.Logger
	metrics   *Metrics
	now       func() time.Time // the clock; tests replace it
	cache     *hashCache
	// rejected: hashes of peers' txs the application refused since the
	// last Update (at least CacheSize remembered), refused again without
	// asking it.
	rejected *hashCache

	// updateMtx is read-held by every CheckTx and write-held by the node
	// around a block commit and Update (Lock/Unlock).
	updateMtx sync.RWMutex

	txsMtx  sync.Mutex
	txs     []*entry // in arrival order: ascending seq
	byHash  map[[32]byte]*entry
	bytes   int64  // total size of txs
	lastSeq uint64 // seq of the most recently admitted tx
	// reservedTxs and reservedBytes count the room held by outstanding
	// Reservations; other txs may not take it.
	reservedTxs   int
	reservedBytes int64
	// Admission by wait (Config.MaxWait, admission.go).
	wait waitState
	// newTx, when not nil, is closed and cleared when a tx is admitted; it
	// wakes gossip routines waiting in TxsAfter.
	newTx    chan struct{}
	closed   chan struct{} // always closed; returned when there is no need to wait
	notified bool          // whether txsAvailable was sent to since the last Update
	// txsAvailable has room for one notification, so sends never block and
	// coalesce.
	txsAvailable chan struct{}
}

// New returns an empty mempool. A nil logger discards logs; nil metrics
// stand for NopMetrics().
func New(cfg Config, checker Checker, committed Committed, logger *slog.Logger, metrics *Metrics) (*Mempool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if checker == nil || committed == nil {
		return nil, errors.New("mempool: a Checker and a Committed index are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if metrics == nil {
		metrics = NopMetrics()
	}
	closed := make(chan struct{})
	close(closed)
	return &Mempool{
		cfg:          cfg,
		checker:      checker,
		committed:    committed,
		logger:       logger.With("module", "mempool"),
		metrics:      metrics,
		now:          time.Now,
		cache:        newHashCache(cfg.CacheSize),
		rejected:     newHashCache(cfg.CacheSize),
		byHash:       make(map[[32]byte]*entry),
		closed:       closed,
		txsAvailable: make(chan struct{}, 1),
	}, nil
}

// Lock blocks CheckTx (new calls wait; running ones are waited for) until
// Unlock. The node holds it while it commits a block and calls Update.
// Calling CheckTx or Flush while holding it deadlocks.
func (m *Mempool) Lock() { m.updateMtx.Lock() }

// Unlock releases the lock taken by Lock.
func (m *Mempool) Unlock() { m.updateMtx.Unlock() }

// Size returns the number of txs in the pool.
func (m *Mempool) Size() int {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	return len(m.txs)
}

// SizeBytes returns the total size of the txs in the pool.
func (m *Mempool) SizeBytes() int64 {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	return m.bytes
}

// TxsAvailable returns a channel that receives a value once per height, as
// soon as the pool is non-empty after an Update (or, before the first
// Update, after the first tx is admitted). Notifications never block the
// mempool and coalesce: the channel holds at most one.
func (m *Mempool) TxsAvailable() <-chan struct{} { return m.txsAvailable }

// Flush removes every tx and forgets every cached hash. Txs already in a
// block stay rejected through the Committed index. It takes the update lock
// itself, so it must not be called while holding Lock.
func (m *Mempool) Flush() {
	m.updateMtx.Lock()
	defer m.updateMtx.Unlock()
	m.cache.reset()
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	m.removeLocked(func(*entry) bool { return true })
}

// removeLocked drops the txs for which drop returns true, keeping the others
// in order. txsMtx must be held.
func (m *Mempool) removeLocked(drop func(*entry) bool) {
	kept := m.txs[:0]
	for _, e := range m.txs {
		if drop(e) {
			delete(m.byHash, e.hash)
			m.bytes -= int64(len(e.tx))
			continue
		}
		kept = append(kept, e)
	}
	clear(m.txs[len(kept):]) // let the dropped entries be collected
	m.txs = kept
	m.updateSizeMetricsLocked()
}

func (m *Mempool) updateSizeMetricsLocked() {
	m.metrics.Size.Set(float64(len(m.txs)))
	m.metrics.SizeBytes.Set(float64(m.bytes))
}

// notifyTxsAvailableLocked sends the once-per-height notification if the
// pool is non-empty and it has not been sent yet. txsMtx must be held.
func (m *Mempool) notifyTxsAvailableLocked() {
	if m.notified || len(m.txs) == 0 {
		return
	}
	m.notified = true
	select {
	case m.txsAvailable <- struct{}{}:
	default: // an earlier notification is still pending
	}
}
