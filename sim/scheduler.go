package sim

import (
	"container/heap"
	"time"
)

// item is something that happens at a virtual time. seq breaks ties in
// insertion order, so the schedule is a pure function of the seed.
type item struct {
	at  time.Duration
	seq uint64
	run func()
}

type queue []*item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// scheduler is the virtual clock and its agenda.
type scheduler struct {
	now time.Duration
	seq uint64
	q   queue
}

func (s *scheduler) at(t time.Duration, run func()) {
	s.seq++
	heap.Push(&s.q, &item{at: max(t, s.now), seq: s.seq, run: run})
}

func (s *scheduler) after(d time.Duration, run func()) { s.at(s.now+d, run) }

// next runs the earliest item; it reports false when nothing is left or the
// next item is past the horizon.
func (s *scheduler) next(horizon time.Duration) bool {
	if len(s.q) == 0 || s.q[0].at > horizon {
		return false
	}
	it := heap.Pop(&s.q).(*item)
	s.now = it.at
	it.run()
	return true
}
