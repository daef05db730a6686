package mempool

import (
	"fmt"
	"time"
)

// waitState is what admission by wait (Config.MaxWait) knows of the recent
// blocks. It is guarded by Mempool.txsMtx.
type waitState struct {
	lastUpdate time.Time
	rate       float64 // txs of the pool committed per second, smoothed over about a second
	overdue    bool    // the txs of the last block waited longer than bound
	bound      time.Duration
	limit      int // the txs blocks commit in bound, at rate
}

// rateSpan is about how long the commit rate is averaged over.
const rateSpan = time.Second

// The bound is at least intervalFactor times the time since the previous
// block: a tx normally waits for the next proposal and its block, so the
// pool holds more than a block's worth (the commit rate, measured on what
// blocks took from the pool, never shrinks the limit block after block).
const intervalFactor = 1.5

// noteBlockLocked records a block that committed the txs committed of the
// pool: the commit rate, and whether they waited longer than the bound.
// txsMtx must be held.
func (m *Mempool) noteBlockLocked(committed map[*entry]struct{}) {
	w := &m.wait
	now := m.now()
	since := now.Sub(w.lastUpdate)
	first := w.lastUpdate.IsZero()
	w.lastUpdate = now
	w.overdue = false
	if m.cfg.MaxWait <= 0 || first || since <= 0 {
		return
	}
	// An exponential average over about rateSpan, each block weighing by
	// the time it took.
	a := min(1, float64(since)/float64(rateSpan))
	w.rate = a*float64(len(committed))/since.Seconds() + (1-a)*w.rate
	w.bound = max(m.cfg.MaxWait, time.Duration(intervalFactor*float64(since)))
	w.limit = max(1, int(w.rate*w.bound.Seconds()))
	for e := range committed {
		if now.Sub(e.added) > w.bound {
			w.overdue = true
			return
		}
	}
}

// queueTooLongLocked returns an error wrapping ErrMempoolFull if the last
// block's txs waited too long and the pool, holding n txs with the room
// reserved, queues more than blocks commit within the bound. txsMtx must
// be held.
func (m *Mempool) queueTooLongLocked(n int) error {
	w := &m.wait
	if !w.overdue || n < w.limit {
		return nil
	}
	return fmt.Errorf("%w: the txs of the last block waited more than %v in it, and the %d txs pooled or reserved take about as long to commit (%.0f tx/s); retry once blocks have emptied it",
		ErrMempoolFull, w.bound.Round(time.Millisecond), n, w.rate)
}
