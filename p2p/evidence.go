package p2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/types"
)

// Evidence gossip, on its own protocol (ProtocolEvidence): each peer's
// evidence writer streams the evidence pool's pending evidence in order of
// arrival with a cursor (EvidenceSource.PendingAfter), one
// tendermint.types.Evidence per frame, so a peer is sent each piece once
// per connection, and never a piece it sent us. A received piece goes to
// EvidenceSource.AddFromPeer, one at a time per peer (the stream waits meanwhile);
// a piece that does not decode or that the pool finds invalid
// (ErrInvalidEvidence) bans the sender at once, as CometBFT disconnects
// it: only forgery makes such evidence. Stale
// evidence (expired, already committed, from a height this node lacks) is
// dropped free: an honest peer may send it.

// ProtocolEvidence is the evidence gossip protocol.
const ProtocolEvidence = "/bftnode/evidence/1"

// ErrInvalidEvidence is wrapped by EvidenceSource.Add's errors for evidence
// that proves nothing (a bad signature, a stranger's votes...), which its
// sender is penalised for.
var ErrInvalidEvidence = errors.New("p2p: invalid evidence")

// EvidenceSource is the evidence pool gossip streams to peers and adds
// their evidence to.
type EvidenceSource interface {
	// PendingAfter returns up to limit pieces of pending evidence that
	// arrived after cursor after (0: from the first), the cursor to pass
	// next, and a channel closed when more evidence arrives.
	PendingAfter(after uint64, limit int) EvidenceBatch
	// AddFromPeer verifies and keeps evidence peer from sent; an error
	// wrapping ErrInvalidEvidence blames the peer.
	AddFromPeer(ev types.Evidence, from string) error
}

// EvidenceBatch is what EvidenceSource.PendingAfter returns.
type EvidenceBatch struct {
	Evidence []types.Evidence
	Next     uint64
	Wait     <-chan struct{}
}

const (
	// maxEvidenceFrame bounds one piece of evidence on the wire (a light
	// client attack carries a commit and a validator set).
	maxEvidenceFrame = 1 << 20
	// evidenceBatch bounds the pieces a writer takes from the pool per read.
	evidenceBatch = 64
	// maxKnownEvidence bounds, per peer, the hashes of the evidence it
	// sent us, kept so it is not sent back; past it the oldest is forgotten
	// (the peer may then get a repeat, which costs it nothing).
	maxKnownEvidence = 1024
)

// evidenceKnown is, per connected peer, the evidence it sent us, in
// arrival order.
type evidenceKnown struct {
	mu    sync.Mutex
	peers map[peer.ID]*knownSet
}

type knownSet struct {
	has   map[types.Hash]struct{}
	order []types.Hash
}

func (k *evidenceKnown) add(p peer.ID, h types.Hash) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.peers == nil {
		k.peers = make(map[peer.ID]*knownSet)
	}
	s := k.peers[p]
	if s == nil {
		s = &knownSet{has: make(map[types.Hash]struct{})}
		k.peers[p] = s
	}
	if _, ok := s.has[h]; ok {
		return
	}
	if len(s.order) >= maxKnownEvidence {
		delete(s.has, s.order[0])
		s.order = s.order[1:]
	}
	s.has[h] = struct{}{}
	s.order = append(s.order, h)
}

func (k *evidenceKnown) has(p peer.ID, h types.Hash) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.peers[p]
	if s == nil {
		return false
	}
	_, ok := s.has[h]
	return ok
}

func (k *evidenceKnown) forget(p peer.ID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.peers, p)
}

// runEvidenceWriter streams the pool's pending evidence to ps, opening our
// evidence stream to it on the first piece to send.
func (t *Transport) runEvidenceWriter(ps *peerState) {
	if t.cfg.EvidenceSource == nil {
		return
	}
	defer t.evidenceKnown.forget(ps.id)
	var w *bufio.Writer
	var s network.Stream
	defer func() {
		if s != nil {
			_ = s.Close()
		}
	}()
	var cursor uint64
	for {
		b := t.cfg.EvidenceSource.PendingAfter(cursor, evidenceBatch)
		cursor = b.Next
		for _, ev := range b.Evidence {
			if t.evidenceKnown.has(ps.id, ev.Hash()) {
				continue
			}
			if s == nil {
				var err error
				if s, err = t.openStream(ps.ctx, ps.id, ProtocolEvidence); err != nil {
					return
				}
				w = bufio.NewWriter(s)
			}
			bz := types.EncodeEvidence(ev)
			frame := append(binary.AppendUvarint(nil, uint64(len(bz))), bz...)
			if _, err := w.Write(frame); err != nil {
				t.log.Debug("evidence write", "peer", ps.id, "err", err)
				return
			}
			t.stats.sent(KindEvidence, len(frame))
		}
		if w != nil {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if len(b.Evidence) == evidenceBatch {
			continue
		}
		select {
		case <-ps.ctx.Done():
			return
		case <-b.Wait:
		}
	}
}

// handleEvidence reads a peer's evidence stream, giving each piece to the
// pool. A frame that is not evidence, or evidence the pool finds invalid,
// bans the peer (Config.BanThreshold points).
func (t *Transport) handleEvidence(s network.Stream) {
	p := s.Conn().RemotePeer()
	if t.gater.isBanned(p) || t.cfg.EvidenceSource == nil {
		_ = s.Reset()
		return
	}
	t.ensurePeer(p)
	defer t.onDisconnected(p)
	r := bufio.NewReader(s)
	for {
		payload, n, err := readFrame(r, maxEvidenceFrame)
		if err != nil {
			t.streamError(p, s, err)
			return
		}
		t.stats.recv(KindEvidence, n)
		ev, err := types.DecodeEvidence(payload)
		if err == nil {
			t.evidenceKnown.add(p, ev.Hash())
			err = t.cfg.EvidenceSource.AddFromPeer(ev, p.String())
		} else {
			err = errors.Join(ErrInvalidEvidence, err)
		}
		if errors.Is(err, ErrInvalidEvidence) {
			t.stats.badFrames.Add(1)
			t.penalize(p, t.cfg.BanThreshold, err)
			_ = s.Reset()
			return
		}
		if err != nil {
			t.log.Debug("evidence from a peer not added", "peer", p, "err", err)
		}
	}
}
