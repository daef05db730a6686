package mempool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// CodeRetry is the lowest application result code that means "try again
// later" (CometBFT v0.40.0's abci.CodeTypeRetry): a tx refused with it is
// forgotten sooner, so that it may be sent again.
const CodeRetry uint32 = 32_000

// ErrRetryLater: the application refused the tx for now, with a code of
// CodeRetry or more.
var ErrRetryLater = errors.New("mempool: the application asks to retry the tx later")

// AppSide is an application that keeps its own mempool: CometBFT v0.40.0's
// InsertTx and ReapTxs.
type AppSide interface {
	// InsertTx hands the application a tx a peer sent; code 0 accepts it.
	InsertTx(ctx context.Context, tx []byte) (code uint32, err error)
	// ReapTxs returns the txs to gossip, within the limits (0: none).
	ReapTxs(ctx context.Context, maxBytes, maxGas uint64) ([][]byte, error)
}

// AppConfig configures an AppPool; the fields are those of [mempool] in
// the node's config.
type AppConfig struct {
	MaxTxBytes        int
	SeenCacheSize     int
	ReapMaxBytes      uint64
	ReapMaxGas        uint64
	ReapInterval      time.Duration
	CheckTxRetryDelay time.Duration
}

// appGossipLog bounds the reaped txs kept for gossip; a peer further behind
// than this misses the oldest (the application reaps a tx again until it is
// in a block, and every peer relays what it receives).
const appGossipLog = 10_000

// AppPool is the node's side of an application-side mempool ([mempool]
// type = "app"): it holds no txs. A tx submitted to the node goes to the
// application's CheckTx, a peer's tx to its InsertTx, each at most once
// while its hash is remembered; Run asks the application for txs with
// ReapTxs every ReapInterval and streams the new ones to gossip (TxsAfter).
// As the engine's mempool it is always empty, so the proposer passes no txs
// to PrepareProposal and the application fills the block itself.
type AppPool struct {
	cfg     AppConfig
	checker Checker
	app     AppSide
	logger  *slog.Logger
	metrics *Metrics
	// seen holds the hashes of txs handed to or reaped from the
	// application; gossiped those of reaped txs already streamed to gossip.
	seen, gossiped *hashCache

	mu      sync.Mutex
	txs     []Tx // reaped txs to gossip, oldest first
	lastSeq uint64
	newTx   chan struct{} // closed when txs grows
}

// NewAppPool returns an AppPool over an application's CheckTx (checker) and
// its InsertTx and ReapTxs (app).
func NewAppPool(cfg AppConfig, checker Checker, app AppSide, logger *slog.Logger, metrics *Metrics) (*AppPool, error) {
	if cfg.ReapInterval <= 0 || cfg.CheckTxRetryDelay <= 0 {
		return nil, fmt.Errorf("mempool: reap_interval (%v) and check_tx_retry_delay (%v) must be positive for an app-side mempool", cfg.ReapInterval, cfg.CheckTxRetryDelay)
	}
	size := max(cfg.SeenCacheSize, 1)
	return &AppPool{cfg: cfg, checker: checker, app: app, logger: logger, metrics: metrics,
		seen: newHashCache(size), gossiped: newHashCache(size), newTx: make(chan struct{})}, nil
}

// guard refuses a tx that is too large or whose hash is remembered, and
// remembers it otherwise.
func (p *AppPool) guard(tx []byte) ([32]byte, error) {
	hash := TxHash(tx)
	if len(tx) == 0 {
		return hash, fmt.Errorf("%w: the tx is empty", ErrRejected)
	}
	if p.cfg.MaxTxBytes > 0 && len(tx) > p.cfg.MaxTxBytes {
		p.metrics.Rejected.WithLabelValues(reasonTooLarge).Inc()
		return hash, fmt.Errorf("%w: %d bytes, max %d", ErrTxTooLarge, len(tx), p.cfg.MaxTxBytes)
	}
	if !p.seen.push(hash) {
		return hash, fmt.Errorf("%w: %X was handed to the application already; wait for it in a block, or resubmit after check_tx_retry_delay if the application refused it", ErrTxInCache, hash)
	}
	return hash, nil
}

// forgetAfter forgets hash after check_tx_retry_delay, or a tenth of it
// for a retryable code, so that the tx may be sent again.
func (p *AppPool) forgetAfter(hash [32]byte, code uint32) {
	delay := p.cfg.CheckTxRetryDelay
	if code >= CodeRetry {
		delay /= 10
	}
	time.AfterFunc(delay, func() { p.seen.remove(hash) })
}

// CheckTx hands a tx submitted to this node (RPC) to the application's
// CheckTx, which in app mode is expected to insert it into its own mempool.
// A non-zero code is returned with an error wrapping ErrRejected; the
// node's own refusals wrap ErrTxTooLarge or ErrTxInCache.
func (p *AppPool) CheckTx(ctx context.Context, tx []byte) (CheckResult, error) {
	hash, err := p.guard(tx)
	if err != nil {
		return CheckResult{}, err
	}
	res, err := p.checker.CheckTx(ctx, tx, false)
	if err != nil {
		p.seen.remove(hash)
		return CheckResult{}, err
	}
	if !res.IsOK() {
		p.metrics.Rejected.WithLabelValues(reasonApp).Inc()
		p.forgetAfter(hash, res.Code)
		return res, fmt.Errorf("%w: code %d: %s", ErrRejected, res.Code, res.Log)
	}
	return res, nil
}

// InsertTx hands a tx from peer to the application's InsertTx. The error
// wraps ErrTxInCache (seen before: nothing was asked), ErrRetryLater (a
// code of CodeRetry or more: the tx may come again soon), ErrRejected
// (another non-zero code: it stays refused while remembered) or
// ErrTxTooLarge, or is the application's failure.
func (p *AppPool) InsertTx(ctx context.Context, tx []byte, peer string) error {
	hash, err := p.guard(tx)
	if err != nil {
		return err
	}
	code, err := p.app.InsertTx(ctx, tx)
	switch {
	case err != nil:
		return fmt.Errorf("mempool: InsertTx of %X from %s: %w", hash, peer, err)
	case code >= CodeRetry:
		p.forgetAfter(hash, code)
		return fmt.Errorf("%w: InsertTx of %X from %s: code %d", ErrRetryLater, hash, peer, code)
	case code != 0:
		p.metrics.Rejected.WithLabelValues(reasonApp).Inc()
		return fmt.Errorf("%w: InsertTx of %X from %s: code %d", ErrRejected, hash, peer, code)
	}
	return nil
}

// Run calls ReapTxs every ReapInterval until ctx ends, and streams to
// gossip the reaped txs it has not streamed yet. An application error is
// logged and the next interval tried.
func (p *AppPool) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		txs, err := p.app.ReapTxs(ctx, p.cfg.ReapMaxBytes, p.cfg.ReapMaxGas)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.logger.Error("ReapTxs failed; trying again at the next reap_interval", "err", err)
			continue
		}
		p.add(txs)
	}
}

// add streams to gossip those of txs not streamed yet, and remembers them
// all as seen so that peers' copies are not inserted again.
func (p *AppPool) add(txs [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	grew := false
	for _, tx := range txs {
		hash := TxHash(tx)
		p.seen.push(hash)
		if len(tx) == 0 || !p.gossiped.push(hash) {
			continue
		}
		p.lastSeq++
		p.txs = append(p.txs, Tx{Seq: p.lastSeq, Hash: hash, Tx: tx})
		grew = true
	}
	if n := len(p.txs); n > appGossipLog {
		p.txs = slices.Delete(p.txs, 0, n-appGossipLog)
	}
	if grew {
		close(p.newTx)
		p.newTx = make(chan struct{})
	}
}

// TxsAfter is Mempool.TxsAfter over the reaped txs: up to limit (<= 0: all)
// reaped after sequence number after, in reap order.
func (p *AppPool) TxsAfter(after uint64, _ string, limit int) TxBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.txs, after+1, func(t Tx, seq uint64) int { return cmp.Compare(t.Seq, seq) })
	b := TxBatch{Txs: slices.Clone(p.txs[i:]), Next: max(after, p.lastSeq)}
	if limit > 0 && len(b.Txs) > limit {
		b.Txs = b.Txs[:limit]
		b.Next = b.Txs[limit-1].Seq
	}
	b.Wait = p.newTx
	if b.Next < p.lastSeq {
		ch := make(chan struct{})
		close(ch)
		b.Wait = ch
	}
	return b
}

// Lock does nothing: the node's side holds no txs to protect.
func (p *AppPool) Lock() {}

// Unlock does nothing.
func (p *AppPool) Unlock() {}

// ReapMaxBytesMaxGas returns no txs: the application fills the block in
// PrepareProposal.
func (p *AppPool) ReapMaxBytesMaxGas(int64, int64) [][]byte { return nil }

// Update does nothing: the application updates its own mempool when it
// commits a block, and there is no recheck.
func (p *AppPool) Update(context.Context, int64, [][]byte, bool) error { return nil }

// TxsAvailable returns nil: the node never learns of txs to propose, as in
// CometBFT (with create_empty_blocks = false, no block is made).
func (p *AppPool) TxsAvailable() <-chan struct{} { return nil }
