package p2p

import (
	"bufio"
	"crypto/sha256"
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"

	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
)

// seenSet remembers up to about 2*limit keys in two generations.
type seenSet struct {
	cur, old map[[32]byte]struct{}
	limit    int
}

func newSeenSet(limit int) seenSet {
	return seenSet{cur: make(map[[32]byte]struct{}), old: make(map[[32]byte]struct{}), limit: limit}
}

func (s *seenSet) has(k [32]byte) bool {
	_, a := s.cur[k]
	_, b := s.old[k]
	return a || b
}

func (s *seenSet) add(k [32]byte) {
	if len(s.cur) >= s.limit {
		s.old, s.cur = s.cur, make(map[[32]byte]struct{})
	}
	s.cur[k] = struct{}{}
}

// BroadcastTx sends tx to every peer not known to have it (one that sent
// it to us, or that we sent it to). It does not block.
func (t *Transport) BroadcastTx(tx []byte) {
	if len(tx) == 0 || len(tx) > t.cfg.MaxTxBytes {
		return
	}
	k := sha256.Sum256(tx)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ps := range t.peers {
		if ps.txSeen.has(k) {
			continue
		}
		select {
		case ps.txOut <- tx:
			ps.txSeen.add(k)
		default:
			t.stats.dropped.Add(1)
		}
	}
}

// runTxWriter opens our tx stream to ps on the first tx and writes queued
// txs, batched into Txs frames.
func (t *Transport) runTxWriter(ps *peerState) {
	var w *bufio.Writer
	var s network.Stream
	defer func() {
		if s != nil {
			_ = s.Close()
		}
	}()
	for {
		var batch [][]byte
		select {
		case <-ps.ctx.Done():
			return
		case tx := <-ps.txOut:
			batch = append(batch, tx)
		}
		size := len(batch[0])
	drain:
		for size < t.cfg.MaxTxBytes {
			select {
			case tx := <-ps.txOut:
				batch = append(batch, tx)
				size += len(tx)
			default:
				break drain
			}
		}
		if s == nil {
			var err error
			if s, err = t.openStream(ps.ctx, ps.id, ProtocolTx); err != nil {
				return
			}
			w = bufio.NewWriterSize(s, 64<<10)
		}
		f, err := encodeFrame(&p2ppb.Txs{Txs: batch})
		if err != nil {
			continue
		}
		if _, err := w.Write(f); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
		t.stats.sent(KindTx, len(f))
	}
}

// handleTxs reads a peer's tx stream into the Txs channel (dropping when
// it is full: the mempool is not a queue we may block on).
func (t *Transport) handleTxs(s network.Stream) {
	p := s.Conn().RemotePeer()
	if t.gater.isBanned(p) {
		_ = s.Reset()
		return
	}
	ps := t.ensurePeer(p)
	defer t.onDisconnected(p)
	r := bufio.NewReaderSize(s, 64<<10)
	for {
		payload, n, err := readFrame(r, t.cfg.maxTxFrame())
		if err != nil {
			t.streamError(p, s, err)
			return
		}
		t.stats.recv(KindTx, n)
		var m p2ppb.Txs
		if err := decodeFrame(payload, &m); err != nil {
			t.stats.badFrames.Add(1)
			t.penalize(p, penaltyUndecoded, err)
			continue
		}
		for _, tx := range m.Txs {
			if len(tx) == 0 || len(tx) > t.cfg.MaxTxBytes {
				t.stats.badFrames.Add(1)
				t.penalize(p, penaltyInvalid, fmt.Errorf("%w: tx of %d bytes", errOutOfRange, len(tx)))
				continue
			}
			k := sha256.Sum256(tx)
			t.mu.Lock()
			ps.txSeen.add(k)
			t.mu.Unlock()
			select {
			case t.txs <- InboundTx{From: p.String(), Tx: tx}:
			default:
				t.stats.dropped.Add(1)
			}
		}
		if t.gater.isBanned(p) {
			_ = s.Reset()
			return
		}
	}
}
