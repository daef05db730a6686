package p2p

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// syncPatience is how long peers must stay Config.SyncLag or more blocks
// ahead before block sync starts: a node briefly that far behind, as on a
// loaded machine with no commit delay, still finishes those heights through
// consensus gossip.
const syncPatience = time.Second

// syncStuck is the backstop for the catch-up by gossip: a node that a peer
// is ahead of by even one block, and whose height has not moved for this
// long, block-syncs. Gossip of a previous height can stall for good when
// its proposer equivocated (the node may hold the other block's parts).
const syncStuck = 3 * time.Second

// syncStall is how long delivered blocks may go unapplied before block
// sync assumes the engine refused one and fetches again from its height.
const syncStall = 10 * time.Second

// Bounds on the fetched blocks block sync holds. Only the commits of the
// two heights whose validator set is known are checked here; the engine
// checks the rest as it reaches them, so a peer can fill these bounds
// with blocks that will never apply, and no more.
const (
	// maxSyncAhead: blocks are delivered to the engine at most this many
	// heights past the one it decides, so that one it refuses (and
	// reports) leaves few delivered blocks behind it to refetch.
	maxSyncAhead = 16
	// maxSyncBytes: fetched blocks not yet delivered, pending or being
	// read, hold at most this many frame bytes, plus one block per
	// request (a request always reads one). Half bounds the pending
	// blocks, half those being read (split among SyncParallel requests).
	maxSyncBytes = 8 << 20
)

func (t *Transport) wakeSync() {
	select {
	case t.syncWake <- struct{}{}:
	default:
	}
}

// distrustSync tells block sync that p misbehaved (it was reported or
// banned): the blocks it served and the engine has not applied are
// dropped and fetched again.
func (t *Transport) distrustSync(p peer.ID) {
	select {
	case t.syncDistrust <- p:
	default: // full: the stall backstop (syncStall) still refetches
	}
}

// syncView is block sync's own state, under its own lock: our height and
// the stored blocks each peer's status advertises.
type syncView struct {
	mu    sync.Mutex
	our   int64
	peers map[peer.ID]syncRange
}

type syncRange struct {
	ps        *peerState
	base, top int64
}

func (v *syncView) setHeight(h int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.our = h
}

// setPeer records the stored blocks ps advertises and reports whether its
// top grew.
func (v *syncView) setPeer(ps *peerState, base, top int64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.peers == nil {
		v.peers = make(map[peer.ID]syncRange)
	}
	old := v.peers[ps.id]
	v.peers[ps.id] = syncRange{ps, base, top}
	return old.ps != ps || top > old.top
}

func (v *syncView) removePeer(ps *peerState) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.peers[ps.id].ps == ps {
		delete(v.peers, ps.id)
	}
}

type syncPeer struct {
	id        peer.ID
	base, top int64
}

// syncPeers lists connected peers with stored blocks, the highest among
// them, and our height.
func (t *Transport) syncPeers() ([]syncPeer, int64, int64) {
	v := &t.syncView
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []syncPeer
	var top int64
	for id, r := range v.peers {
		if r.ps.ctx.Err() != nil {
			delete(v.peers, id) // a status read after the peer was dropped
			continue
		}
		if r.top > 0 {
			out = append(out, syncPeer{id, max(r.base, 1), r.top})
			top = max(top, r.top)
		}
	}
	return out, top, v.our
}

// syncedBlock is a fetched block with its commit, who served it and its
// frame's size.
type syncedBlock struct {
	msg  msgs.CommitMsg
	from peer.ID
	size int
}

type batchResult struct {
	from, to int64
	peer     peer.ID
	blocks   []syncedBlock
	err      error
}

// syncRun is runSync's state.
type syncRun struct {
	t         *Transport
	next      int64 // next height to deliver
	reqHigh   int64 // highest height requested
	pending   map[int64]syncedBlock
	bytes     int               // frame bytes in pending
	delivered map[int64]peer.ID // heights delivered and not yet applied
	inflight  int
	retry     [][2]int64
	results   chan batchResult
	pause     time.Time
	rr        int
}

// runSync fetches blocks when peers have been SyncLag or more blocks ahead
// for syncPatience, from several peers in parallel, and delivers them in
// height order.
func (t *Transport) runSync() {
	r := &syncRun{t: t, pending: make(map[int64]syncedBlock), delivered: make(map[int64]peer.ID),
		results: make(chan batchResult, t.cfg.SyncParallel)}
	var (
		syncing  bool
		lastOur  int64
		lastMove = time.Now()
		logAt    = time.Now()
		logCount uint64
		// behindSince: when peers were last seen SyncLag or more blocks
		// ahead after not being so (zero: they are not).
		behindSince time.Time
	)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		peers, top, our := t.syncPeers()
		if our == 0 {
			// The engine has not said where it is yet.
			select {
			case <-t.ctx.Done():
				return
			case <-t.syncWake:
			}
			continue
		}
		if our != lastOur {
			lastOur, lastMove = our, time.Now()
		}
		r.advance(our)
		if r.next > our && time.Since(lastMove) > syncStall && r.inflight == 0 {
			t.log.Warn("block sync: engine did not apply synced blocks, refetching", "height", our)
			r.restart(our)
			lastMove = time.Now()
		}
		behind := top-(our-1) >= t.cfg.SyncLag
		switch {
		case !behind:
			behindSince = time.Time{}
		case behindSince.IsZero():
			behindSince = time.Now()
		}
		stuck := top >= our && time.Since(lastMove) >= syncStuck
		if !syncing && (behind && time.Since(behindSince) >= syncPatience || stuck) {
			syncing = true
			t.stats.syncStarts.Add(1)
			t.log.Info("block sync started", "height", our, "target", top, "peers", len(peers))
			logAt, logCount = time.Now(), t.stats.synced.Load()
		}
		if syncing && r.next > top && top-(our-1) < t.cfg.SyncLag {
			syncing = false
			t.log.Info("block sync caught up", "height", our)
		}
		r.deliver(our)
		if syncing {
			r.schedule(peers, top)
		}
		if syncing && time.Since(logAt) >= 2*time.Second {
			done := t.stats.synced.Load()
			rate := float64(done-logCount) / time.Since(logAt).Seconds()
			t.log.Info("block sync", "height", r.next-1, "target", top, "remaining", max(top-r.next+1, 0), "heights_per_s", fmt.Sprintf("%.1f", rate))
			logAt, logCount = time.Now(), done
		}
		select {
		case <-t.ctx.Done():
			return
		case <-t.syncWake:
		case <-tick.C:
		case p := <-t.syncDistrust:
			r.distrust(p, our)
		case res := <-r.results:
			r.inflight--
			r.onResult(res, our)
		}
	}
}

// advance forgets what the engine has applied: the heights below our.
func (r *syncRun) advance(our int64) {
	if r.next >= our {
		for h := range r.delivered {
			if h < our {
				delete(r.delivered, h)
			}
		}
		return
	}
	r.next = our
	r.reqHigh = max(r.reqHigh, r.next-1)
	for h, b := range r.pending {
		if h < r.next {
			r.drop(h, b)
		}
	}
	clear(r.delivered)
}

// restart fetches everything again from our.
func (r *syncRun) restart(our int64) {
	r.next, r.reqHigh = our, our-1
	clear(r.pending)
	clear(r.delivered)
	r.bytes = 0
	r.retry = nil
}

func (r *syncRun) drop(h int64, b syncedBlock) {
	delete(r.pending, h)
	r.bytes -= b.size
}

// deliver hands the engine the pending blocks in height order, up to
// maxSyncAhead heights past our.
func (r *syncRun) deliver(our int64) {
	for r.next < our+maxSyncAhead {
		b, ok := r.pending[r.next]
		if !ok {
			return
		}
		r.drop(r.next, b)
		r.t.deliver(msgs.Inbound{From: b.from.String(), Msg: b.msg})
		r.delivered[r.next] = b.from
		r.t.stats.synced.Add(1)
		r.next++
	}
}

// schedule starts requests while there is room: retries first (lowest
// first), then the heights after reqHigh, within the window of heights
// and, unless a request fetches the next height to deliver, maxSyncBytes.
func (r *syncRun) schedule(peers []syncPeer, top int64) {
	t := r.t
	window := int64(t.cfg.SyncBatch * t.cfg.SyncParallel * 2)
	budget := maxSyncBytes / 2 / t.cfg.SyncParallel
	for r.inflight < t.cfg.SyncParallel && len(peers) > 0 && time.Now().After(r.pause) {
		for len(r.retry) > 0 && r.retry[0][1] < r.next {
			r.retry = r.retry[1:] // delivered meanwhile
		}
		var lo, hi int64
		if len(r.retry) > 0 {
			lo, hi = max(r.retry[0][0], r.next), r.retry[0][1]
		} else if r.reqHigh < top && r.reqHigh-r.next < window {
			lo, hi = r.reqHigh+1, min(r.reqHigh+int64(t.cfg.SyncBatch), top)
		} else {
			return
		}
		if r.bytes >= maxSyncBytes/2 && lo > r.next {
			return // full: only the next height to deliver may be fetched
		}
		var cands []syncPeer
		for _, sp := range peers {
			if sp.base <= lo && sp.top >= hi {
				cands = append(cands, sp)
			}
		}
		if len(cands) == 0 {
			return
		}
		if len(r.retry) > 0 {
			r.retry = r.retry[1:]
		} else {
			r.reqHigh = hi
		}
		slices.SortFunc(cands, func(a, b syncPeer) int { return strings.Compare(string(a.id), string(b.id)) })
		p := cands[r.rr%len(cands)].id
		r.rr++
		r.inflight++
		t.goRun(func() {
			blocks, err := t.fetchBlocks(t.ctx, p, lo, hi, budget)
			select {
			case r.results <- batchResult{lo, hi, p, blocks, err}:
			case <-t.ctx.Done():
			}
		})
	}
}

// onResult keeps a request's blocks, asks again for what it lacked and
// penalises the peer for what it did wrong. A block of a height the engine
// has decided (below our) is compared with this node's (checkDecided).
func (r *syncRun) onResult(res batchResult, our int64) {
	t := r.t
	if t.gater.isBanned(res.peer) {
		// Banned while the request ran (distrust came first).
		r.addRetry([2]int64{res.from, res.to})
		return
	}
	for i, b := range res.blocks {
		h := res.from + int64(i)
		if _, ok := r.pending[h]; h >= r.next && !ok {
			r.pending[h] = b
			r.bytes += b.size
		} else if h < our {
			t.checkDecided(res.peer, b.msg)
		}
	}
	if got := res.from + int64(len(res.blocks)); got <= res.to {
		r.addRetry([2]int64{got, res.to}) // short: past the budget, or an error
	}
	if res.err == nil {
		return
	}
	r.pause = time.Now().Add(200 * time.Millisecond)
	switch {
	case errors.Is(res.err, errMissing):
		// Asked only for heights its status advertised.
		t.penalize(res.peer, penaltyInvalid, fmt.Errorf("advertised blocks %d..%d it does not serve: %w", res.from, res.to, res.err))
	case t.ctx.Err() != nil:
	case errors.Is(res.err, ErrBadFrame) || errors.Is(res.err, ErrFrameTooLarge) || errors.Is(res.err, errOutOfRange) ||
		errors.Is(res.err, errWrongChain) || errors.Is(res.err, errBadCommit) || errors.Is(res.err, types.ErrInvalidBlock):
		t.stats.badFrames.Add(1)
		t.penalize(res.peer, penaltyFor(res.err), res.err)
	default:
		t.log.Debug("block sync request failed", "peer", res.peer, "from", res.from, "to", res.to, "err", res.err)
	}
}

// distrust drops the pending blocks p served and, if the engine has not
// applied one it delivered, every delivered height from our: all are
// fetched again (from whichever peers then qualify).
func (r *syncRun) distrust(p peer.ID, our int64) {
	var refetch []int64
	for h, b := range r.pending {
		if b.from == p {
			r.drop(h, b)
			refetch = append(refetch, h)
		}
	}
	unapplied := false
	for _, q := range r.delivered {
		unapplied = unapplied || q == p
	}
	if unapplied {
		for h := our; h < r.next; h++ {
			if _, ok := r.pending[h]; !ok {
				refetch = append(refetch, h)
			}
		}
		r.next = our
		clear(r.delivered)
	}
	r.addRetry(heightRanges(refetch, int64(r.t.cfg.SyncBatch))...)
}

// addRetry queues ranges to fetch again, keeping the queue lowest first.
func (r *syncRun) addRetry(ranges ...[2]int64) {
	r.retry = append(r.retry, ranges...)
	slices.SortFunc(r.retry, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
}

// heightRanges groups heights into ranges of consecutive heights, at most
// n long each.
func heightRanges(hs []int64, n int64) [][2]int64 {
	slices.Sort(hs)
	hs = slices.Compact(hs)
	var out [][2]int64
	for _, h := range hs {
		if k := len(out) - 1; k >= 0 && out[k][1] == h-1 && h-out[k][0] < n {
			out[k][1] = h
			continue
		}
		out = append(out, [2]int64{h, h})
	}
	return out
}
