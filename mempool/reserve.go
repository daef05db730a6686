package mempool

import (
	"context"
	"fmt"
)

// Reservation holds room in the pool for one tx that is not checked yet, so
// that an RPC can promise a client its tx will not be refused for lack of
// room (broadcast_tx_async answers before the application checks the tx).
// No other tx may take the room while it is held.
type Reservation struct {
	m    *Mempool
	size int
	held bool // guarded by m.txsMtx
}

// Reserve holds room for one tx of size bytes until [Reservation.CheckTx]
// or [Reservation.Release]. The error wraps ErrTxTooLarge or ErrMempoolFull.
func (m *Mempool) Reserve(size int) (*Reservation, error) {
	if size > m.cfg.MaxTxBytes {
		m.metrics.Rejected.WithLabelValues(reasonTooLarge).Inc()
		return nil, fmt.Errorf("%w: %d bytes, max %d", ErrTxTooLarge, size, m.cfg.MaxTxBytes)
	}
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	if err := m.roomLocked(size); err != nil {
		return nil, err
	}
	m.reservedTxs++
	m.reservedBytes += int64(size)
	return &Reservation{m: m, size: size, held: true}, nil
}

// CheckTx is [Mempool.CheckTx] for a local tx of the reserved size, into
// the reserved room: it is never refused with ErrMempoolFull. The room is
// the admitted tx's, or free again when the tx is refused for another
// reason (the application's verdict, a duplicate, committed already).
func (r *Reservation) CheckTx(ctx context.Context, tx []byte) (CheckResult, error) {
	defer r.Release()
	if len(tx) != r.size {
		return CheckResult{}, fmt.Errorf("mempool: tx of %d bytes submitted into room reserved for %d; reserve for this tx", len(tx), r.size)
	}
	return r.m.checkTx(ctx, tx, "", r)
}

// Release gives the room back unused; it does nothing if the room was given
// back or taken by the tx already.
func (r *Reservation) Release() {
	r.m.txsMtx.Lock()
	defer r.m.txsMtx.Unlock()
	r.releaseLocked()
}

// releaseLocked is Release with m.txsMtx held.
func (r *Reservation) releaseLocked() {
	if !r.held {
		return
	}
	r.held = false
	r.m.reservedTxs--
	r.m.reservedBytes -= int64(r.size)
}
