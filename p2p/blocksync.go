package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

var errMissing = errors.New("p2p: peer lacks the block")

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

func (t *Transport) wakeSync() {
	select {
	case t.syncWake <- struct{}{}:
	default:
	}
}

// handleBlockSync serves one BlockRequest from the BlockSource.
func (t *Transport) handleBlockSync(s network.Stream) {
	defer s.Close()
	var req p2ppb.BlockRequest
	if !t.readRequest(s, KindBlockSync, &req, func() error {
		if req.FromHeight <= 0 || req.ToHeight < req.FromHeight || req.ToHeight-req.FromHeight >= maxSyncBatch {
			return fmt.Errorf("%w: block request %d..%d", ErrBadFrame, req.FromHeight, req.ToHeight)
		}
		return nil
	}) {
		return
	}
	p := s.Conn().RemotePeer()
	if !t.serving.start(p) {
		_ = s.Reset() // the peer retries, or asks another
		return
	}
	defer t.serving.done(p)
	w := bufio.NewWriterSize(s, 256<<10)
	for h := req.FromHeight; h <= req.ToHeight; h++ {
		resp := t.loadResponse(h)
		f, err := encodeFrame(resp)
		if err != nil || len(f) > t.cfg.maxSyncFrame() {
			f, _ = encodeFrame(&p2ppb.BlockResponse{Height: h, Missing: true})
		}
		if _, err := w.Write(f); err != nil {
			_ = s.Reset()
			return
		}
		t.stats.sent(KindBlockSync, len(f))
	}
	if err := w.Flush(); err != nil {
		_ = s.Reset()
	}
}

// Block sync requests served at once: per peer, and in all. A request past
// either bound is refused (its stream reset), so no peer can keep this
// node loading and sending blocks for many streams in parallel.
const (
	maxServingPerPeer = 2
	maxServing        = 16
)

// servingSlots counts the block sync requests being served, per peer and
// in all, under its own lock (not the transport's).
type servingSlots struct {
	mu    sync.Mutex
	peers map[peer.ID]int
	total int
}

// start reserves a serving slot for p, if one is free.
func (sl *servingSlots) start(p peer.ID) bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.peers[p] >= maxServingPerPeer || sl.total >= maxServing {
		return false
	}
	if sl.peers == nil {
		sl.peers = make(map[peer.ID]int)
	}
	sl.peers[p]++
	sl.total++
	return true
}

func (sl *servingSlots) done(p peer.ID) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.peers[p]--; sl.peers[p] <= 0 {
		delete(sl.peers, p)
	}
	sl.total--
}

func (t *Transport) loadResponse(h int64) *p2ppb.BlockResponse {
	missing := &p2ppb.BlockResponse{Height: h, Missing: true}
	src := t.cfg.Source
	if src == nil || h < src.Base() || h > src.Height() {
		return missing
	}
	block, err := src.LoadBlock(h)
	if err != nil || block == nil {
		return missing
	}
	if ec, err := src.LoadExtendedCommit(h); err == nil {
		return &p2ppb.BlockResponse{Height: h, Block: block.ToProto(), ExtCommit: ec.ToProto()}
	}
	var commit *types.Commit
	if h < src.Height() {
		commit, err = src.LoadBlockCommit(h)
	} else {
		commit, err = src.LoadSeenCommit(h)
	}
	if err != nil || commit == nil {
		return missing
	}
	return &p2ppb.BlockResponse{Height: h, Block: block.ToProto(), Commit: commit.ToProto()}
}

// fetchBlocks requests from..to from p and returns the verified prefix of
// the answer, with an error for whatever went wrong after it.
func (t *Transport) fetchBlocks(ctx context.Context, p peer.ID, from, to int64) ([]msgs.CommitMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := t.host.NewStream(ctx, p, ProtocolBlockSync)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	f, err := encodeFrame(&p2ppb.BlockRequest{FromHeight: from, ToHeight: to})
	if err != nil {
		return nil, err
	}
	if _, err := s.Write(f); err != nil {
		return nil, err
	}
	t.stats.sent(KindBlockSync, len(f))
	_ = s.CloseWrite()
	r := bufio.NewReaderSize(s, 256<<10)
	var out []msgs.CommitMsg
	for h := from; h <= to; h++ {
		payload, n, err := readFrame(r, t.cfg.maxSyncFrame())
		if err != nil {
			return out, err
		}
		t.stats.recv(KindBlockSync, n)
		msg, err := t.decodeBlockResponse(payload, h)
		if err != nil {
			return out, err
		}
		out = append(out, msg)
	}
	return out, nil
}

func (t *Transport) decodeBlockResponse(payload []byte, h int64) (msgs.CommitMsg, error) {
	var resp p2ppb.BlockResponse
	if err := decodeFrame(payload, &resp); err != nil {
		return msgs.CommitMsg{}, err
	}
	if resp.Height != h {
		return msgs.CommitMsg{}, fmt.Errorf("%w: response for height %d, want %d", errOutOfRange, resp.Height, h)
	}
	if resp.Missing {
		return msgs.CommitMsg{}, fmt.Errorf("%w: height %d", errMissing, h)
	}
	if resp.Block == nil || (resp.Commit == nil) == (resp.ExtCommit == nil) {
		return msgs.CommitMsg{}, fmt.Errorf("%w: height %d without a block, or without exactly one of commit and extended commit", ErrBadFrame, h)
	}
	block, err := types.BlockFromProto(resp.Block)
	if err != nil {
		return msgs.CommitMsg{}, fmt.Errorf("%w: block %d: %w", ErrBadFrame, h, err)
	}
	var commit *types.Commit
	var extended *types.ExtendedCommit
	if resp.ExtCommit != nil {
		extended, err = types.ExtendedCommitFromProto(resp.ExtCommit)
		if err == nil {
			commit = extended.Commit
		}
	} else {
		commit, err = types.CommitFromProto(resp.Commit)
	}
	if err != nil {
		return msgs.CommitMsg{}, fmt.Errorf("%w: commit %d: %w", ErrBadFrame, h, err)
	}
	if err := t.checkBlock(block, h); err != nil {
		return msgs.CommitMsg{}, err
	}
	if commit.Height != h || commit.BlockID.Hash != block.Hash() {
		return msgs.CommitMsg{}, fmt.Errorf("%w: commit for %d/%X does not match block %d", errOutOfRange, commit.Height, commit.BlockID.Hash[:6], h)
	}
	return msgs.CommitMsg{Block: block, Commit: commit, Extended: extended}, nil
}

type syncPeer struct {
	id        peer.ID
	base, top int64
}

// syncPeers lists peers with stored blocks, and the highest among them.
func (t *Transport) syncPeers() ([]syncPeer, int64, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []syncPeer
	var top int64
	for id, ps := range t.peers {
		if ps.status.known && ps.status.storeHeight > 0 {
			out = append(out, syncPeer{id, max(ps.status.storeBase, 1), ps.status.storeHeight})
			top = max(top, ps.status.storeHeight)
		}
	}
	return out, top, t.status.Height
}

type batchResult struct {
	from, to int64
	peer     peer.ID
	msgs     []msgs.CommitMsg
	err      error
}

// runSync fetches blocks when peers have been SyncLag or more blocks ahead
// for syncPatience, from several peers in parallel, and delivers them in height order.
func (t *Transport) runSync() {
	var (
		next     int64 // next height to deliver
		reqHigh  int64 // highest height requested
		pending  = make(map[int64]msgs.CommitMsg)
		from     = make(map[int64]peer.ID)
		inflight int
		retry    [][2]int64
		results  = make(chan batchResult, t.cfg.SyncParallel)
		syncing  bool
		lastOur  int64
		lastMove = time.Now()
		logAt    = time.Now()
		logCount uint64
		pause    time.Time
		rr       int
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
		if next < our {
			next = our
			reqHigh = max(reqHigh, next-1)
			for h := range pending {
				if h < next {
					delete(pending, h)
					delete(from, h)
				}
			}
		}
		if next > our && time.Since(lastMove) > syncStall && inflight == 0 {
			t.log.Warn("block sync: engine did not apply synced blocks, refetching", "height", our)
			next, reqHigh = our, our-1
			clear(pending)
			clear(from)
			retry = nil
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
		if syncing && next > top && top-(our-1) < t.cfg.SyncLag {
			syncing = false
			t.log.Info("block sync caught up", "height", our)
		}
		// Deliver in order.
		for {
			msg, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			t.deliver(msgs.Inbound{From: from[next].String(), Msg: msg})
			delete(from, next)
			t.stats.synced.Add(1)
			next++
		}
		// Schedule requests.
		window := int64(t.cfg.SyncBatch * t.cfg.SyncParallel * 2)
		for syncing && inflight < t.cfg.SyncParallel && len(peers) > 0 && time.Now().After(pause) {
			var lo, hi int64
			if len(retry) > 0 {
				lo, hi = retry[0][0], retry[0][1]
			} else if reqHigh < top && reqHigh-next < window {
				lo, hi = reqHigh+1, min(reqHigh+int64(t.cfg.SyncBatch), top)
			} else {
				break
			}
			var cands []syncPeer
			for _, sp := range peers {
				if sp.base <= lo && sp.top >= hi {
					cands = append(cands, sp)
				}
			}
			if len(cands) == 0 {
				break
			}
			if len(retry) > 0 {
				retry = retry[1:]
			} else {
				reqHigh = hi
			}
			slices.SortFunc(cands, func(a, b syncPeer) int { return strings.Compare(string(a.id), string(b.id)) })
			p := cands[rr%len(cands)].id
			rr++
			inflight++
			t.goRun(func() {
				msgs, err := t.fetchBlocks(t.ctx, p, lo, hi)
				select {
				case results <- batchResult{lo, hi, p, msgs, err}:
				case <-t.ctx.Done():
				}
			})
		}
		if syncing && time.Since(logAt) >= 2*time.Second {
			done := t.stats.synced.Load()
			rate := float64(done-logCount) / time.Since(logAt).Seconds()
			t.log.Info("block sync", "height", next-1, "target", top, "remaining", max(top-next+1, 0), "heights_per_s", fmt.Sprintf("%.1f", rate))
			logAt, logCount = time.Now(), done
		}
		select {
		case <-t.ctx.Done():
			return
		case <-t.syncWake:
		case <-tick.C:
		case res := <-results:
			inflight--
			for i, m := range res.msgs {
				h := res.from + int64(i)
				if h >= next {
					pending[h] = m
					from[h] = res.peer
				}
			}
			if res.err != nil {
				got := res.from + int64(len(res.msgs))
				retry = append(retry, [2]int64{got, res.to})
				pause = time.Now().Add(200 * time.Millisecond)
				if errors.Is(res.err, errMissing) {
					// Asked only for heights its status advertised.
					t.penalize(res.peer, penaltyInvalid, fmt.Errorf("advertised blocks %d..%d it does not serve: %w", res.from, res.to, res.err))
				} else if t.ctx.Err() == nil {
					if errors.Is(res.err, ErrBadFrame) || errors.Is(res.err, ErrFrameTooLarge) || errors.Is(res.err, errOutOfRange) || errors.Is(res.err, errWrongChain) || errors.Is(res.err, types.ErrInvalidBlock) {
						t.stats.badFrames.Add(1)
						t.penalize(res.peer, penaltyFor(res.err), res.err)
					} else {
						t.log.Debug("block sync request failed", "peer", res.peer, "from", res.from, "to", res.to, "err", res.err)
					}
				}
			}
		}
	}
}
