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
//     blocks of late): a tx waits normally for the next proposal and its
//     block, however long blocks take when idle (timeout_commit);
//   - then txs are admitted only while the pool holds fewer than blocks
//     commit in max(MaxWait, that shortest time), at the commit rate
//     measured over about a second.
//
// Under a flood the pool then holds about MaxWait of txs, so blocks are cut
// to what the node commits in about MaxWait and come that often, rather
// than growing with a deep pool (bigger blocks, longer heights, longer
// waits). Where blocks cannot come that often (a long timeout_commit, slow
// consensus), the shortest recent time between blocks takes MaxWait's
// place, so the limit never shrinks block after block towards nothing.

// waitState is what admission by wait knows of the recent blocks. It is
// guarded by Mempool.txsMtx.
type waitState struct {
	lastUpdate time.Time
	intervals  []time.Duration // between the last blocks, at most recentBlocks
	rate       float64         // txs of the pool committed per second, smoothed over about rateSpan
	overdue    bool            // a tx of the last block waited too long
	bound      time.Duration   // the wait the limit is for
	limit      int             // the txs blocks commit within bound, at rate
}

const (
	rateSpan     = time.Second // about how long the commit rate is averaged over
	recentBlocks = 20          // the blocks whose shortest interval counts
)

// noteBlockLocked records a block that committed the txs committed of the
// pool. txsMtx must be held.
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
	if len(w.intervals) == recentBlocks {
		w.intervals = slices.Delete(w.intervals, 0, 1)
	}
	w.intervals = append(w.intervals, since)
	shortest := slices.Min(w.intervals)

	// An exponential average over about rateSpan, each block weighing by
	// the time it took.
	a := min(1, float64(since)/float64(rateSpan))
	w.rate = a*float64(len(committed))/since.Seconds() + (1-a)*w.rate
	w.bound = max(m.cfg.MaxWait, shortest)
	w.limit = max(1, int(w.rate*w.bound.Seconds()))
	tooLong := max(m.cfg.MaxWait, 2*shortest)
	for e := range committed {
		if now.Sub(e.added) > tooLong {
			w.overdue = true
			return
		}
	}
}

// queueTooLongLocked returns an error wrapping ErrMempoolFull if the queue
// is too long and the pool, holding n txs with the room reserved, holds as
// many as blocks commit within the bound. txsMtx must be held.
func (m *Mempool) queueTooLongLocked(n int) error {
	w := &m.wait
	if !w.overdue || n < w.limit {
		return nil
	}
	return fmt.Errorf("%w: txs wait too long in it: the %d txs pooled or reserved take about %v to commit (%.0f tx/s); retry once blocks have emptied it",
		ErrMempoolFull, n, w.bound.Round(time.Millisecond), w.rate)
}
