package mempool

import (
	"context"
	"fmt"
	"slices"
)

// Update tells the mempool that the block at height, holding committedTxs,
// is committed. It removes those txs from the pool and keeps their hashes in
// the cache; then, if recheck, it asks the application to recheck every
// remaining tx against the new state (CheckTx with recheck=true) and evicts
// those it now rejects, logging each and counting it in
// Metrics.EvictedByRecheck. An evicted tx is forgotten by the cache, so it
// may be resubmitted once valid again.
//
// The caller must hold Lock, taken before the block was committed to the
// store and the application (Update panics otherwise):
//
//	mp.Lock()
//	defer mp.Unlock()
//	// save the block, FinalizeBlock and Commit on the application
//	err := mp.Update(ctx, height, txs, true)
//
// If the application fails or ctx ends during the recheck, the txs not yet
// rechecked stay in the pool and the error is returned; the committed txs
// are removed in any case.
func (m *Mempool) Update(ctx context.Context, height int64, committedTxs [][]byte, recheck bool) error {
	m.mustBeLocked()
	// The block may change what the application accepts.
	m.rejected.reset()

	hashes := make([][32]byte, len(committedTxs))
	for i, tx := range committedTxs {
		hashes[i] = TxHash(tx)
		m.cache.push(hashes[i])
	}

	m.txsMtx.Lock()
	inBlock := make(map[*entry]struct{}, len(hashes))
	for _, h := range hashes {
		if e, ok := m.byHash[h]; ok {
			inBlock[e] = struct{}{}
		}
	}
	m.noteBlockLocked(inBlock)
	if len(inBlock) > 0 {
		m.removeLocked(func(e *entry) bool { _, ok := inBlock[e]; return ok })
	}
	var pending []*entry
	if recheck {
		pending = slices.Clone(m.txs)
	}
	m.txsMtx.Unlock()

	// No CheckTx runs while Lock is held, so the pool can only shrink, and
	// only here, until the recheck is applied.
	err := m.recheck(ctx, height, pending)

	m.txsMtx.Lock()
	m.notified = false
	m.notifyTxsAvailableLocked()
	m.txsMtx.Unlock()
	return err
}

// mustBeLocked panics unless a writer holds updateMtx. TryRLock fails
// whenever a writer holds (or waits for) the lock, so its success proves the
// caller did not take Lock.
func (m *Mempool) mustBeLocked() {
	if m.updateMtx.TryRLock() {
		m.updateMtx.RUnlock()
		panic("mempool: Update called without holding Lock")
	}
}

// recheck asks the application to recheck txs, without holding txsMtx, then
// applies the results: new priorities and gas for the txs still valid,
// eviction for the others.
func (m *Mempool) recheck(ctx context.Context, height int64, txs []*entry) error {
	results := make([]CheckResult, 0, len(txs))
	var err error
	for _, e := range txs {
		if err = ctx.Err(); err != nil {
			break
		}
		var res CheckResult
		if res, err = m.checker.CheckTx(ctx, e.tx, true); err != nil {
			break
		}
		results = append(results, res)
	}

	evicted := make(map[*entry]struct{})
	m.txsMtx.Lock()
	for i, res := range results {
		if e := txs[i]; res.IsOK() {
			e.priority, e.gasWanted = res.Priority, res.GasWanted
		} else {
			evicted[e] = struct{}{}
		}
	}
	if len(evicted) > 0 {
		m.removeLocked(func(e *entry) bool { _, ok := evicted[e]; return ok })
	}
	m.txsMtx.Unlock()

	for i, res := range results {
		if res.IsOK() {
			continue
		}
		m.cache.remove(txs[i].hash)
		m.metrics.EvictedByRecheck.Inc()
		m.logger.Info("evicted tx on recheck", "height", height,
			"tx", fmt.Sprintf("%X", txs[i].hash), "code", res.Code, "reason", res.Log)
	}
	if err != nil {
		return fmt.Errorf("mempool: recheck at height %d after %d of %d txs: %w", height, len(results), len(txs), err)
	}
	return nil
}
