package mempool

import (
	"context"
	"errors"
	"fmt"
)

// CheckTx validates a tx submitted locally (RPC) and admits it to the pool.
// See CheckTxFrom.
func (m *Mempool) CheckTx(ctx context.Context, tx []byte) (CheckResult, error) {
	return m.CheckTxFrom(ctx, tx, "")
}

// CheckTxFrom validates a tx received from peer (empty for a local tx) and
// admits it to the pool; gossip will not send it back to that peer. The
// mempool keeps tx: the caller must not modify it afterwards.
//
// The error wraps ErrTxTooLarge, ErrTxInCache, ErrTxCommitted,
// ErrMempoolFull or ErrRejected, or is the application's error. The result is
// the application's answer, zero when the application was not asked.
//
// CheckTx runs in parallel with other CheckTx calls, reaping and gossip. A
// tx new to the cache waits while the node holds Lock; one the cache
// remembers is refused at once.
func (m *Mempool) CheckTxFrom(ctx context.Context, tx []byte, peer string) (CheckResult, error) {
	return m.checkTx(ctx, tx, peer, nil)
}

// checkTx is CheckTxFrom; a tx submitted with a reservation rsv (not nil)
// takes the room rsv holds instead of looking for free room.
func (m *Mempool) checkTx(ctx context.Context, tx []byte, peer string, rsv *Reservation) (CheckResult, error) {
	if len(tx) > m.cfg.MaxTxBytes {
		m.metrics.Rejected.WithLabelValues(reasonTooLarge).Inc()
		return CheckResult{}, fmt.Errorf("%w: %d bytes, max %d", ErrTxTooLarge, len(tx), m.cfg.MaxTxBytes)
	}
	hash := TxHash(tx)
	// A peer's tx the application refused since the last block is refused
	// again without asking it (the peer pays for each, see doc.go).
	if peer != "" && m.rejected.contains(hash) {
		m.metrics.Rejected.WithLabelValues(reasonApp).Inc()
		return CheckResult{}, fmt.Errorf("%w: %X refused by the application since the last block", ErrRejected, hash)
	}

	// A tx heard again (from a second peer, or resubmitted) costs a hash
	// and a cache lookup: no update lock, so it does not wait for a block
	// commit, and no formatted error. Anything that is new to the cache is
	// checked under the update lock below, so a tx committed meanwhile is
	// still refused by the committed index.
	if !m.cache.push(hash) {
		if peer != "" {
			m.pooled(hash, peer)
		}
		return CheckResult{}, ErrTxInCache
	}

	// Refuse a full pool early, before waiting for the update lock (a
	// block commit may hold it for long) and before the committed index and
	// the application do any work: under a flood most txs end here. The
	// check under the lock below, and admit at the end, keep the bounds
	// exact.
	if rsv == nil {
		if err := m.room(len(tx)); err != nil {
			return CheckResult{}, m.forget(hash, err)
		}
	}

	m.updateMtx.RLock()
	defer m.updateMtx.RUnlock()

	// The cache may be smaller than the pool and have forgotten the hash of
	// a pooled tx: that one is refused before the committed index is asked.
	if m.pooled(hash, peer) {
		return CheckResult{}, ErrTxInCache
	}
	// The pool may have filled up while this call waited for the lock.
	if err := m.admit(nil, hash, len(tx), peer, rsv); err != nil {
		return CheckResult{}, m.forget(hash, err)
	}
	// The hash stays cached if the tx is committed: it will never be valid.
	if m.committed.HasTx(hash) {
		m.metrics.AlreadyCommitted.Inc()
		return CheckResult{}, fmt.Errorf("%w: %X", ErrTxCommitted, hash)
	}

	res, err := m.checker.CheckTx(ctx, tx, false)
	if err != nil {
		return CheckResult{}, m.forget(hash, fmt.Errorf("mempool: application CheckTx: %w", err))
	}
	if !res.IsOK() {
		m.metrics.Rejected.WithLabelValues(reasonApp).Inc()
		if peer != "" {
			m.rejected.push(hash)
		}
		return res, m.forget(hash, fmt.Errorf("%w: code %d: %s", ErrRejected, res.Code, res.Log))
	}

	e := &entry{hash: hash, tx: tx, priority: res.Priority, gasWanted: res.GasWanted}
	e.addSender(peer)
	// The pool may have filled up while the application was checking.
	if err := m.admit(e, hash, len(tx), peer, rsv); err != nil {
		return res, m.forget(hash, err)
	}
	return res, nil
}

// pooled reports whether the tx with hash is in the pool, and if so
// records that peer sent it.
func (m *Mempool) pooled(hash [32]byte, peer string) bool {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	e, ok := m.byHash[hash]
	if ok {
		e.addSender(peer)
	}
	return ok
}

// forget removes hash from the cache, so the tx may be resubmitted, unless err
// says the tx is in the pool; it returns err.
func (m *Mempool) forget(hash [32]byte, err error) error {
	if !errors.Is(err, ErrTxInCache) {
		m.cache.remove(hash)
	}
	return err
}

// admit checks that the tx is not in the pool and that size more bytes fit
// in it (or that rsv, if not nil, holds the room), and if so and e is not
// nil, appends e to the pool, in the room rsv held. A tx already in the pool
// is recorded as sent by peer.
func (m *Mempool) admit(e *entry, hash [32]byte, size int, peer string, rsv *Reservation) error {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()

	// The cache may be smaller than the pool and have forgotten the hash.
	if dup, ok := m.byHash[hash]; ok {
		dup.addSender(peer)
		return fmt.Errorf("%w: %X is in the mempool", ErrTxInCache, hash)
	}
	if rsv == nil {
		if err := m.roomLocked(size); err != nil {
			return err
		}
	}
	if e == nil {
		return nil
	}
	if rsv != nil {
		rsv.releaseLocked() // the entry takes over the room
	}

	m.lastSeq++
	e.seq = m.lastSeq
	e.added = m.now()
	m.txs = append(m.txs, e)
	m.byHash[hash] = e
	m.bytes += int64(size)
	m.updateSizeMetricsLocked()
	if m.newTx != nil {
		close(m.newTx)
		m.newTx = nil
	}
	m.notifyTxsAvailableLocked()
	return nil
}

// room is roomLocked, taking txsMtx.
func (m *Mempool) room(size int) error {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	return m.roomLocked(size)
}

// roomLocked returns nil if a tx of size bytes fits in the pool beside the
// txs in it and the room reserved, and the queue is not too long (see
// Config.MaxWait), else an error wrapping ErrMempoolFull. txsMtx must be
// held.
func (m *Mempool) roomLocked(size int) error {
	n, b := len(m.txs)+m.reservedTxs, m.bytes+m.reservedBytes
	if n >= m.cfg.MaxTxs || b+int64(size) > m.cfg.MaxBytes {
		m.metrics.Rejected.WithLabelValues(reasonFull).Inc()
		return fmt.Errorf("%w: %d txs (max %d), %d bytes (max %d) pooled or reserved, tx of %d bytes; retry once blocks have emptied it",
			ErrMempoolFull, n, m.cfg.MaxTxs, b, m.cfg.MaxBytes, size)
	}
	if err := m.queueTooLongLocked(n); err != nil {
		m.metrics.Rejected.WithLabelValues(reasonFull).Inc()
		return err
	}
	return nil
}
