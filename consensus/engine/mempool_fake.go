package engine

import (
	"bytes"
	"context"
	"slices"
	"sync"
)

// MemMempool is the in-memory fake of the Mempool port: txs added with Add
// wait, in order, until a committed block holds them. It checks nothing.
// The simulator's validators use it. It is safe for concurrent use.
type MemMempool struct {
	mu        sync.Mutex
	txs       [][]byte
	available chan struct{}
}

var _ Mempool = (*MemMempool)(nil)

// NewMemMempool returns an empty MemMempool.
func NewMemMempool() *MemMempool {
	return &MemMempool{available: make(chan struct{}, 1)}
}

// Add appends tx and signals TxsAvailable.
func (m *MemMempool) Add(tx []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.txs = append(m.txs, slices.Clone(tx))
	select {
	case m.available <- struct{}{}:
	default:
	}
}

// Lock and Unlock do nothing: Add never checks a tx against the state.
func (m *MemMempool) Lock()   {}
func (m *MemMempool) Unlock() {}

// ReapMaxBytesMaxGas returns the oldest txs whose sizes add up to at most
// maxBytes (no limit when negative); gas is not counted.
func (m *MemMempool) ReapMaxBytesMaxGas(maxBytes, _ int64) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	var size int64
	for _, tx := range m.txs {
		if maxBytes >= 0 && size+int64(len(tx)) > maxBytes {
			break
		}
		size += int64(len(tx))
		out = append(out, tx)
	}
	return out
}

// Update removes the committed txs.
func (m *MemMempool) Update(_ context.Context, _ int64, committed [][]byte, _ bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.txs = slices.DeleteFunc(m.txs, func(tx []byte) bool {
		return slices.ContainsFunc(committed, func(c []byte) bool { return bytes.Equal(c, tx) })
	})
	return nil
}

// TxsAvailable signals after Add.
func (m *MemMempool) TxsAvailable() <-chan struct{} { return m.available }
