package p2p

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/bftnode/bftnode/types"
)

type voteKey struct {
	height int64
	round  int32
	typ    types.SignedMsgType
	index  int32
}

type partKey struct {
	round int32
	index uint32
}

// peerHas is what a peer is known to have at one height.
type peerHas struct {
	votes     map[voteKey]struct{}
	proposals map[int32]bool
	blocks    map[int32]bool // proposal and every part
	parts     map[partKey]struct{}
	// conflicts marks rounds for which the peer sent a proposal other than
	// the one we hold: its parts need not prove into ours.
	conflicts map[int32]bool
}

// peerStatus is a peer's consensus position, from its last status.
type peerStatus struct {
	known  bool
	height int64
	round  int32
	step   uint8
}

type outFrame struct {
	kind  int
	frame []byte
}

// peerState is one connected peer: its consensus writer's queues, and
// consensus gossip's view of it. The fields below the channels are
// consensus gossip's, guarded by consensusGossip.mu.
type peerState struct {
	id     peer.ID
	out    chan outFrame // small consensus frames: status, votes, has
	parts  chan outFrame // block parts, sent when no small frame waits
	ctx    context.Context
	cancel context.CancelFunc

	status peerStatus
	has    map[int64]*peerHas

	txReqs *txRequests // from its tx reader to its tx writer
}

// peerSet is the connected peers, under its own lock: those tx and
// evidence gossip, Peers and SendDirect serve. Consensus gossip and block
// sync keep their own views of them (consensusGossip.peers, syncView).
type peerSet struct {
	mu sync.Mutex
	m  map[peer.ID]*peerState
}

func (s *peerSet) get(p peer.ID) *peerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[p]
}

func (s *peerSet) ids() []peer.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]peer.ID, 0, len(s.m))
	for id := range s.m {
		out = append(out, id)
	}
	return out
}

// ensure returns p's state, made by create if p has none; added says it
// was.
func (s *peerSet) ensure(p peer.ID, create func() *peerState) (ps *peerState, added bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.m[p]; ps != nil {
		return ps, false
	}
	ps = create()
	s.m[p] = ps
	return ps, true
}

func (s *peerSet) remove(p peer.ID) *peerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.m[p]
	delete(s.m, p)
	return ps
}

func (ps *peerState) hasAt(h int64) *peerHas {
	ph := ps.has[h]
	if ph == nil {
		ph = &peerHas{
			votes:     make(map[voteKey]struct{}),
			proposals: make(map[int32]bool),
			blocks:    make(map[int32]bool),
			parts:     make(map[partKey]struct{}),
			conflicts: make(map[int32]bool),
		}
		ps.has[h] = ph
	}
	return ph
}

// ensurePeer returns the state of p, creating it and its writers.
func (t *Transport) ensurePeer(p peer.ID) *peerState {
	ps, added := t.peers.ensure(p, func() *peerState {
		ctx, cancel := context.WithCancel(t.ctx)
		return &peerState{
			id:     p,
			out:    make(chan outFrame, t.cfg.SendQueue),
			parts:  make(chan outFrame, t.cfg.SendQueue),
			ctx:    ctx,
			cancel: cancel,
			has:    make(map[int64]*peerHas),
			txReqs: newTxRequests(),
		}
	})
	if !added {
		return ps
	}
	t.gossip.addPeer(ps)
	t.goRun(func() { t.runConsensusWriter(ps) })
	t.goRun(func() { t.runTxWriter(ps) })
	t.goRun(func() { t.runEvidenceWriter(ps) })
	return ps
}

func (t *Transport) onConnected(p peer.ID) {
	if t.ctx.Err() != nil || t.gater.isBanned(p) {
		return
	}
	t.ensurePeer(p)
	t.log.Debug("peer connected", "peer", p)
	select {
	case t.pexWake <- struct{}{}:
	default:
	}
}

func (t *Transport) onDisconnected(p peer.ID) {
	if t.host.Network().Connectedness(p) == network.Connected {
		return
	}
	t.dropPeer(p)
	// libp2p keeps a peer's key, protocols and identify metadata forever:
	// forget them, so that a stream of fresh peer IDs does not grow the
	// node. Its addresses stay until their TTL, for redials and pex. An
	// identify exchange that was under way when the connection closed can
	// record them again after this, so they are forgotten once more a
	// little later, unless the peer is back by then.
	t.host.Peerstore().RemovePeer(p)
	time.AfterFunc(peerstoreForgetAgain, func() {
		if t.ctx.Err() == nil && t.host.Network().Connectedness(p) != network.Connected {
			t.host.Peerstore().RemovePeer(p)
		}
	})
}

// peerstoreForgetAgain is how long after a disconnection a peer's key and
// protocols are removed from the peerstore a second time.
const peerstoreForgetAgain = 5 * time.Second

// dropPeer forgets p's state and stops its writers.
func (t *Transport) dropPeer(p peer.ID) {
	if ps := t.peers.remove(p); ps != nil {
		ps.cancel() // first: no protocol adds a cancelled peer back
		t.gossip.removePeer(ps)
		t.syncView.removePeer(ps)
		t.log.Debug("peer disconnected", "peer", p)
	}
}

// enqueue queues a frame for ps without blocking; a full queue drops
// it (the caller then does not mark it as had, so gossip retries).
func (t *Transport) enqueue(ps *peerState, kind int, frame []byte) bool {
	q := ps.out
	if kind == KindBlockPart {
		q = ps.parts
	}
	select {
	case q <- outFrame{kind: kind, frame: frame}:
		return true
	default:
		t.stats.dropped.Add(1)
		return false
	}
}

// openStream opens a protocol stream to ps, retrying briefly: right after
// connecting, the peer may still be registering its handlers.
func (t *Transport) openStream(ctx context.Context, p peer.ID, protos ...string) (network.Stream, error) {
	ids := make([]protocol.ID, len(protos))
	for i, proto := range protos {
		ids[i] = protocol.ID(proto)
	}
	var err error
	for attempt := range 3 {
		var s network.Stream
		if s, err = t.host.NewStream(ctx, p, ids...); err == nil {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return nil, err
}

// runConsensusWriter opens our consensus stream to ps, sends our status,
// then writes queued frames until the peer goes away.
func (t *Transport) runConsensusWriter(ps *peerState) {
	s, err := t.openStream(ps.ctx, ps.id, ProtocolConsensus)
	if err != nil {
		if ps.ctx.Err() == nil {
			t.log.Debug("consensus stream", "peer", ps.id, "err", err)
		}
		return
	}
	defer s.Close()
	w := bufio.NewWriterSize(s, 64<<10)
	t.gossip.mu.Lock()
	our := t.gossip.status
	t.gossip.mu.Unlock()
	status := t.statusFrame(our)
	if status != nil {
		if _, err := w.Write(status); err != nil {
			return
		}
		t.stats.sent(KindStatus, len(status))
	}
	write := func(f outFrame) bool {
		if _, err := w.Write(f.frame); err != nil {
			t.log.Debug("consensus write", "peer", ps.id, "err", err)
			return false
		}
		t.stats.sent(f.kind, len(f.frame))
		return true
	}
	for {
		// Small frames (votes above all) never wait behind block parts.
		select {
		case f := <-ps.out:
			if !write(f) {
				return
			}
			continue
		default:
		}
		if w.Buffered() > 0 && len(ps.parts) == 0 {
			if err := w.Flush(); err != nil {
				t.log.Debug("consensus write", "peer", ps.id, "err", err)
				return
			}
		}
		select {
		case <-ps.ctx.Done():
			return
		case f := <-ps.out:
			if !write(f) {
				return
			}
		case f := <-ps.parts:
			if !write(f) {
				return
			}
			if err := w.Flush(); err != nil { // a part is a whole write
				return
			}
		}
	}
}

// handleConsensus reads a peer's consensus stream. Frame errors cost score;
// an oversized or truncated frame ends the stream since framing is lost.
func (t *Transport) handleConsensus(s network.Stream) {
	p := s.Conn().RemotePeer()
	if t.gater.isBanned(p) {
		_ = s.Reset()
		return
	}
	ps := t.ensurePeer(p)
	defer t.onDisconnected(p) // drops ps if the connection went with the stream
	r := bufio.NewReaderSize(s, 64<<10)
	for {
		payload, n, err := readFrame(r, maxConsensusFrame)
		if err != nil {
			t.streamError(p, s, err)
			return
		}
		if err := t.handleConsensusFrame(ps, payload, n); err != nil {
			t.stats.badFrames.Add(1)
			t.penalize(p, penaltyFor(err), err)
			if t.gater.isBanned(p) {
				_ = s.Reset()
				return
			}
		}
	}
}

// streamError accounts for a failed frame read on s from p.
func (t *Transport) streamError(p peer.ID, s network.Stream, err error) {
	switch {
	case errors.Is(err, io.EOF):
		_ = s.Close()
	case errors.Is(err, ErrFrameTooLarge):
		t.stats.badFrames.Add(1)
		_ = s.Reset()
		t.penalize(p, penaltyOversized, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The peer closed its side in the middle of a frame.
		t.stats.badFrames.Add(1)
		_ = s.Reset()
		t.penalize(p, penaltyUndecoded, err)
	default:
		_ = s.Reset()
	}
}

func penaltyFor(err error) int {
	switch {
	case errors.Is(err, ErrFrameTooLarge):
		return penaltyOversized
	case errors.Is(err, errWrongChain):
		return penaltyWrongChain
	case errors.Is(err, ErrBadFrame):
		return penaltyUndecoded
	}
	return penaltyInvalid
}
