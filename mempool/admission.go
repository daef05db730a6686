package mempool

import (
	"fmt"
	"slices"
	"time"
)

// Admission by wait (Config.MaxWait). The pool refuses new txs while its
// queue is too long, judged on the blocks:
//
//   - the queue is too long once a tx of the pool committed in the last
//     block waited longer than max(MaxWait, 2 × the shortest time between
//     blocks in the last recentSpan): a tx waits normally for the next
//     proposal and its block, however long blocks take when idle
//     (timeout_commit);
//   - then txs are admitted only while the pool holds fewer than blocks
//     commit in max(MaxWait, that shortest time), at the commit rate
//     measured over about a second, until a block's txs waited at most
//     half as long as too long (or the pool is empty): without that
//     margin, one block of fresh txs would open the pool wide to a flood
//     for a whole height, and the next block would be a big one;
//   - the same limit holds while no block has come for longer than too
//     long (a stall: the machine busy elsewhere, a slow round), when the
//     txs pooled meanwhile are bound to wait too long.
//
// Under a flood the pool then holds about MaxWait of txs, so blocks are cut
// to what the node commits in about MaxWait and come that often, rather
// than growing with a deep pool (bigger blocks, longer heights, longer
// waits). Where blocks cannot come that often (a long timeout_commit, slow
// consensus), the shortest recent time between blocks takes MaxWait's
// place, so the limit never shrinks block after block towards nothing. The
// span is long (recentSpan) so that a stall of a few seconds (the machine
// busy with something else) does not count as slow consensus: blocks
// then shrink back to MaxWait's worth instead of growing with the stall.

// waitState is what admission by wait knows of the recent blocks. It is
// guarded by Mempool.txsMtx.
type waitState struct {
	lastUpdate time.Time
	// intervals holds the times between blocks of the last recentSpan
	// that are shorter than every later one (a sliding-window minimum):
	// the first is the shortest.
	intervals []interval
	rate      float64       // txs of the pool committed per second, smoothed over about rateSpan
	overdue   bool          // a tx of the last block waited too long
	tooLong   time.Duration // the wait that was too long at the last block
	bound     time.Duration // the wait the limit is for
	limit     int           // the txs blocks commit within bound, at rate
}

// interval is the time since the previous block, of a block at at.
type interval struct {
	at time.Time
	d  time.Duration
}

const (
	rateSpan   = time.Second      // about how long the commit rate is averaged over
	recentSpan = 30 * time.Second // the blocks whose shortest interval counts
)

// shortestInterval records the block at now, since after the previous one,
// and returns the shortest time between blocks of the last recentSpan.
func (w *waitState) shortestInterval(now time.Time, since time.Duration) time.Duration {
	for len(w.intervals) > 0 && w.intervals[len(w.intervals)-1].d >= since {
		w.intervals = w.intervals[:len(w.intervals)-1]
	}
	w.intervals = append(w.intervals, interval{at: now, d: since})
	drop := 0
	for w.intervals[drop].at.Before(now.Add(-recentSpan)) {
		drop++
	}
	w.intervals = slices.Delete(w.intervals, 0, drop)
	return w.intervals[0].d
}

// noteBlockLocked records a block that committed the txs committed of the
// pool. txsMtx must be held.
func (m *Mempool) noteBlockLocked(committed map[*entry]struct{}) {
	w := &m.wait
	now := m.now()
	since := now.Sub(w.lastUpdate)
	first := w.lastUpdate.IsZero()
	w.lastUpdate = now
	wasOverdue := w.overdue
	w.overdue = false
	if m.cfg.MaxWait <= 0 || first || since <= 0 {
		return
	}
	shortest := w.shortestInterval(now, since)

	// An exponential average over about rateSpan, each block weighing by
	// the time it took.
	a := min(1, float64(since)/float64(rateSpan))
	w.rate = a*float64(len(committed))/since.Seconds() + (1-a)*w.rate
	w.bound = max(m.cfg.MaxWait, shortest)
	w.limit = max(1, int(w.rate*w.bound.Seconds()))
	w.tooLong = max(m.cfg.MaxWait, 2*shortest)
	tooLong := w.tooLong
	if wasOverdue {
		tooLong /= 2
	}
	for e := range committed {
		if now.Sub(e.added) > tooLong {
			w.overdue = true
			return
		}
	}
}

// queueTooLongLocked returns an error wrapping ErrMempoolFull if the queue
// is too long (or no block came for too long) and the pool, holding n txs
// with the room reserved, holds as many as blocks commit within the bound.
// txsMtx must be held.
func (m *Mempool) queueTooLongLocked(n int) error {
	w := &m.wait
	if n < w.limit || !w.overdue && (w.tooLong == 0 || m.now().Sub(w.lastUpdate) <= w.tooLong) {
		return nil
	}
	return fmt.Errorf("%w: txs wait too long in it: the %d txs pooled or reserved take about %v to commit (%.0f tx/s); retry once blocks have emptied it",
		ErrMempoolFull, n, w.bound.Round(time.Millisecond), w.rate)
}
