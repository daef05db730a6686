package statesync

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// errNoPeers means every peer serving the snapshot was rejected or left.
var errNoPeers = errors.New("no peer left that serves the snapshot")

// chunk is one fetched chunk and the peer that sent it.
type chunk struct {
	index  uint32
	data   []byte
	sender string
}

// queue tracks the chunks of the snapshot being restored: which are
// applied, fetched (waiting to be applied), being fetched, and which peers
// failed each. Fetchers take work from it (allocate) and the applier takes
// chunks in index order (next). Only chunks within window of the lowest
// unapplied index are fetched, so at most window chunks are held at once.
// It is safe for concurrent use.
type queue struct {
	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) on every change
	window  uint32

	applied  []bool
	low      uint32 // lowest index not applied (len(applied) when all are)
	have     map[uint32]chunk
	inflight map[uint32]string          // index -> peer asked
	failed   map[uint32]map[string]bool // index -> peers that failed it
	peers    []string                   // serving peers, not rejected
	load     map[string]int             // requests in flight per peer
	turn     int                        // rotates the choice among equally loaded peers
}

func newQueue(chunks uint32, window int, peers []string) *queue {
	return &queue{
		changed:  make(chan struct{}),
		window:   uint32(max(window, 1)),
		applied:  make([]bool, chunks),
		have:     make(map[uint32]chunk),
		inflight: make(map[uint32]string),
		failed:   make(map[uint32]map[string]bool),
		peers:    slices.Clone(peers),
		load:     make(map[string]int),
	}
}

// signalLocked wakes everyone waiting on the queue.
func (q *queue) signalLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// wait blocks until the queue changes or ctx ends; the caller held q.mu
// when it read ch.
func wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// allocate hands out the lowest chunk index that needs fetching, within the
// window, with the peer to ask: the least loaded peer that has not failed
// that chunk (all of them again once every one has). It blocks while there
// is nothing to fetch, and fails with errNoPeers when no peer is left.
func (q *queue) allocate(ctx context.Context) (uint32, string, error) {
	for {
		q.mu.Lock()
		if len(q.peers) == 0 {
			q.mu.Unlock()
			return 0, "", errNoPeers
		}
		end := min(uint64(q.low)+uint64(q.window), uint64(len(q.applied)))
		for i := q.low; uint64(i) < end; i++ {
			if q.applied[i] {
				continue
			}
			if _, ok := q.have[i]; ok {
				continue
			}
			if _, ok := q.inflight[i]; ok {
				continue
			}
			peer := q.pickLocked(i)
			q.inflight[i] = peer
			q.load[peer]++
			q.mu.Unlock()
			return i, peer, nil
		}
		ch := q.changed
		q.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			return 0, "", err
		}
	}
}

func (q *queue) pickLocked(i uint32) string {
	candidates := slices.DeleteFunc(slices.Clone(q.peers), func(p string) bool { return q.failed[i][p] })
	if len(candidates) == 0 {
		delete(q.failed, i) // every peer failed it once: go round again
		candidates = q.peers
	}
	// The least loaded; among equals, in turn.
	q.turn++
	best := candidates[q.turn%len(candidates)]
	for _, p := range candidates {
		if q.load[p] < q.load[best] {
			best = p
		}
	}
	return best
}

func (q *queue) releaseLocked(i uint32) {
	if peer, ok := q.inflight[i]; ok {
		delete(q.inflight, i)
		if q.load[peer]--; q.load[peer] <= 0 {
			delete(q.load, peer)
		}
	}
}

// deliver records chunk i, fetched from peer, unless peer was rejected
// while the chunk was on its way.
func (q *queue) deliver(i uint32, data []byte, peer string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked(i)
	if int(i) < len(q.applied) && !q.applied[i] && slices.Contains(q.peers, peer) {
		q.have[i] = chunk{index: i, data: data, sender: peer}
	}
	q.signalLocked()
}

// fail records that peer did not deliver chunk i; another peer is asked.
// It reports whether every serving peer has now failed that chunk.
func (q *queue) fail(i uint32, peer string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked(i)
	if q.failed[i] == nil {
		q.failed[i] = make(map[string]bool)
	}
	q.failed[i][peer] = true
	q.signalLocked()
	for _, p := range q.peers {
		if !q.failed[i][p] {
			return false
		}
	}
	return true
}

// dropPeer stops asking peer (it disconnected); what it sent is kept.
func (q *queue) dropPeer(peer string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.peers = slices.DeleteFunc(q.peers, func(p string) bool { return p == peer })
	q.signalLocked()
}

// next returns the lowest unapplied chunk once it is fetched; the caller
// applies it and calls markApplied (or retry, or discard). It returns
// done=true when every chunk is applied.
func (q *queue) next(ctx context.Context) (c chunk, done bool, err error) {
	for {
		q.mu.Lock()
		if int(q.low) == len(q.applied) {
			q.mu.Unlock()
			return chunk{}, true, nil
		}
		if c, ok := q.have[q.low]; ok {
			q.mu.Unlock()
			return c, false, nil
		}
		if len(q.peers) == 0 {
			q.mu.Unlock()
			return chunk{}, false, errNoPeers
		}
		ch := q.changed
		q.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			return chunk{}, false, err
		}
	}
}

// markApplied records that the application accepted chunk i, and drops it.
func (q *queue) markApplied(i uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.applied[i] = true
	delete(q.have, i)
	delete(q.failed, i)
	for int(q.low) < len(q.applied) && q.applied[q.low] {
		q.low++
	}
	q.signalLocked()
}

// discard drops chunk i, applied or not, so that it is fetched (and
// applied) again.
func (q *queue) discard(i uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if int(i) >= len(q.applied) {
		return
	}
	q.applied[i] = false
	delete(q.have, i)
	q.low = min(q.low, i)
	q.signalLocked()
}

// rejectPeer stops asking peer, and drops the chunks it sent that are not
// applied yet, so that they are fetched from others.
func (q *queue) rejectPeer(peer string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.peers = slices.DeleteFunc(q.peers, func(p string) bool { return p == peer })
	for i, c := range q.have {
		if c.sender == peer {
			delete(q.have, i)
		}
	}
	q.signalLocked()
}

// size is the number of chunks.
func (q *queue) size() int { return len(q.applied) }
