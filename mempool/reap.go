package mempool

import (
	"cmp"
	"slices"
)

// ReapMaxBytesMaxGas returns txs for a block proposal: by priority, highest
// first, and in arrival order among equal priorities. It stops before the
// first tx that would take the total size of the txs past maxBytes or their
// total GasWanted past maxGas; -1 means no limit. maxBytes bounds the raw tx
// bytes: the caller leaves room for the block's encoding overhead.
//
// The txs stay in the pool until Update removes them. The returned slices are
// the pool's own: the caller must not modify them.
func (m *Mempool) ReapMaxBytesMaxGas(maxBytes, maxGas int64) [][]byte {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()

	order := m.reapOrderLocked()
	reaped := make([][]byte, 0, len(order))
	var bytes, gas int64
	for _, e := range order {
		bytes += int64(len(e.tx))
		gas += e.gasWanted
		if (maxBytes > -1 && bytes > maxBytes) || (maxGas > -1 && gas > maxGas) {
			break
		}
		reaped = append(reaped, e.tx)
	}
	return reaped
}

// reapOrderLocked returns the txs by priority, highest first, and in arrival
// order among equal priorities. txsMtx must be held.
func (m *Mempool) reapOrderLocked() []*entry {
	// m.txs is in arrival order: when no priority is higher than an earlier
	// one, as when the application gives none, it is the reap order.
	if slices.IsSortedFunc(m.txs, func(a, b *entry) int { return cmp.Compare(b.priority, a.priority) }) {
		return m.txs
	}
	// Sort compact keys rather than the entries, so that comparisons read
	// contiguous memory instead of following a pointer each.
	type key struct {
		priority int64
		index    int // in m.txs, so in arrival order
	}
	keys := make([]key, len(m.txs))
	for i, e := range m.txs {
		keys[i] = key{e.priority, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.priority != b.priority {
			return cmp.Compare(b.priority, a.priority)
		}
		return cmp.Compare(a.index, b.index)
	})
	order := make([]*entry, len(keys))
	for i, k := range keys {
		order[i] = m.txs[k.index]
	}
	return order
}

// Tx is a pool tx as streamed to gossip by TxsAfter.
type Tx struct {
	Seq  uint64 // arrival order in this pool; never reused
	Hash [32]byte
	Tx   []byte // the pool's own slice: do not modify
}

// TxBatch is one step of a gossip stream; see TxsAfter.
type TxBatch struct {
	// Txs are in arrival order.
	Txs []Tx
	// Next is the cursor to pass to the next call of TxsAfter.
	Next uint64
	// Wait is closed once the pool holds a tx that arrived after Next
	// (at once if it already does).
	Wait <-chan struct{}
}

// TxsAfter returns up to limit txs (limit <= 0 means all) that arrived after the
// tx with sequence number after (0 to start) and that peer is not known to
// have (see Announced and Wanted).
// A gossip routine streams the pool to peer, in arrival order and without
// resending, with:
//
//	var cursor uint64
//	for {
//		b := mp.TxsAfter(cursor, peer, 100)
//		send(b.Txs)
//		cursor = b.Next
//		select {
//		case <-b.Wait:
//		case <-ctx.Done():
//			return
//		}
//	}
func (m *Mempool) TxsAfter(after uint64, peer string, limit int) TxBatch {
	return m.txsAfter(after, limit, func(e *entry) bool { return !e.sentBy(peer) })
}

// txsAfter is TxsAfter for the txs that keep accepts.
func (m *Mempool) txsAfter(after uint64, limit int, keep func(*entry) bool) TxBatch {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()

	i, _ := slices.BinarySearchFunc(m.txs, after+1, func(e *entry, seq uint64) int { return cmp.Compare(e.seq, seq) })
	b := TxBatch{Next: max(after, m.lastSeq)}
	for _, e := range m.txs[i:] {
		if limit > 0 && len(b.Txs) == limit {
			b.Next = b.Txs[len(b.Txs)-1].Seq
			break
		}
		if keep(e) {
			b.Txs = append(b.Txs, Tx{Seq: e.seq, Hash: e.hash, Tx: e.tx})
		}
	}
	b.Wait = m.waitAfterLocked(b.Next)
	return b
}

// waitAfterLocked returns a channel closed once the pool holds a tx with a
// sequence number greater than seq. txsMtx must be held.
func (m *Mempool) waitAfterLocked(seq uint64) <-chan struct{} {
	if n := len(m.txs); n > 0 && m.txs[n-1].seq > seq {
		return m.closed
	}
	if m.newTx == nil {
		m.newTx = make(chan struct{})
	}
	return m.newTx
}
