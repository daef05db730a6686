package p2p

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/mempool"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
)

// Transaction gossip pulls from the mempool: each peer's tx writer streams
// the pool in arrival order with a cursor (mempool.Mempool.TxsAfter), so a
// tx goes to each peer at most once, never to a peer that sent it to us,
// never after it left the pool (committed or evicted), and a peer that
// connects late gets the whole pool. The writer waits Config.TxBatchDelay
// after the pool grows before it reads, so that under load a frame carries
// many txs (one Txs message). On /bftnode/tx/2 relayed txs are announced
// rather than sent (txannounce.go).

// TxSource is the pool that tx gossip streams to peers: the mempool.
type TxSource interface {
	// TxsAfter is mempool.Mempool.TxsAfter.
	TxsAfter(after uint64, peer string, limit int) mempool.TxBatch
}

// InboundTxs are the transactions of one frame received from a peer.
type InboundTxs struct {
	From string
	Txs  [][]byte
}

const (
	// txBatchMax bounds the txs a writer takes from the pool per read.
	txBatchMax = 1024
	// txFramePayload is the size past which a writer starts a new frame,
	// well under the frame limit of a peer with a small MaxTxBytes. A
	// larger tx travels alone in its frame.
	txFramePayload = 64 << 10
	// txInboundQueue bounds the frames received and not yet taken by the
	// mempool; a reader waits (and so its peer's writer) when it is full.
	txInboundQueue = 64
)

// penaltyRejectedTx is what a tx the application refuses in CheckTx costs
// its sender: small, since an honest peer may relay a tx that a block it
// has not seen yet made invalid, but enough that a peer sending invalid
// txs again and again is banned (at one point per scoreDecay forgiven, a
// steady stream of one invalid tx every ten seconds is tolerated).
const penaltyRejectedTx = 2

// RejectedTx says that a tx from peer (InboundTxs.From) failed the
// application's CheckTx: it costs the peer penaltyRejectedTx.
func (t *Transport) RejectedTx(from string, reason error) {
	p, err := peer.Decode(from)
	if err != nil {
		return
	}
	t.penalize(p, penaltyRejectedTx, reason)
}

// runTxWriter streams the pool to ps, opening our tx stream to it at once
// if the pool can answer announcements, else on the first tx to send. On
// /bftnode/tx/2 it sends our own txs at once, announces relayed ones once
// they are Config.TxRelayDelay old, and answers the peer's wants (see
// txannounce.go).
func (t *Transport) runTxWriter(ps *peerState) {
	if t.cfg.TxSource == nil {
		return
	}
	tw := &txWriter{t: t, ps: ps, from: ps.id.String()}
	defer tw.close()
	// Whether the peer takes announcements decides what to read: find out
	// first. Without them, the stream opens with the first tx to send.
	if t.announcer() != nil {
		if err := tw.open(); err != nil {
			t.log.Debug("tx stream", "peer", ps.id, "err", err)
			return
		}
	}
	delay := time.NewTimer(t.cfg.TxBatchDelay)
	defer delay.Stop()
	due := time.NewTimer(t.cfg.TxRelayDelay)
	defer due.Stop()
	for {
		b := tw.read()
		if err := tw.sendNew(b); err != nil {
			t.log.Debug("tx write", "peer", ps.id, "err", err)
			return
		}
		if len(b.Txs) == txBatchMax { // more are waiting: no delay
			if ps.ctx.Err() != nil {
				return
			}
			// Nor do announcements and requests wait for the end of a flood.
			if err := tw.keepUp(); err != nil {
				t.log.Debug("tx write", "peer", ps.id, "err", err)
				return
			}
			continue
		}
		// Wait for new txs, then TxBatchDelay more so that they gather;
		// meanwhile answer the peer's requests and announce what falls due.
		wait, gather := b.Wait, (<-chan time.Time)(nil)
	waiting:
		for {
			var dueC <-chan time.Time
			if next, ok := tw.nextDue(); ok {
				due.Reset(time.Until(next))
				dueC = due.C
			}
			var err error
			select {
			case <-ps.ctx.Done():
				return
			case <-wait:
				wait = nil
				delay.Reset(t.cfg.TxBatchDelay)
				gather = delay.C
			case <-gather:
				break waiting
			case <-ps.txReqs.ready:
				err = tw.answer()
			case <-dueC:
				err = tw.announceDue()
			}
			if err != nil {
				t.log.Debug("tx write", "peer", ps.id, "err", err)
				return
			}
		}
	}
}

// writeTxs writes txs in frames of about txFramePayload bytes (less for a
// small MaxTxBytes, so a peer's frame limit is never reached), then
// flushes. Empty and oversized txs, which a peer would refuse, are skipped.
func (t *Transport) writeTxs(w *bufio.Writer, txs []mempool.Tx) error {
	target := min(txFramePayload, t.cfg.MaxTxBytes) // frames stay under 2*MaxTxBytes
	for len(txs) > 0 {
		n, size := 0, 0
		for _, tx := range txs {
			if n > 0 && size >= target {
				break
			}
			n++
			if l := len(tx.Tx); l > 0 && l <= t.cfg.MaxTxBytes {
				size += 1 + uvarintLen(uint64(l)) + l
			}
		}
		if size > 0 {
			written, err := writeTxsFrame(w, txs[:n], size, t.cfg.MaxTxBytes)
			if err != nil {
				return err
			}
			t.stats.sent(KindTx, written)
		}
		txs = txs[n:]
	}
	return w.Flush()
}

// txsField is the key of field 1 (txs, length-delimited) of p2ppb.Txs.
const txsField = 1<<3 | 2

// writeTxsFrame writes the frame of a p2ppb.Txs message holding the txs of
// 1 to maxTx bytes, whose encoding is payload bytes long, straight into w:
// the same bytes as encodeFrame(&p2ppb.Txs{...}) without building the
// message or copying the txs. It returns the bytes written.
func writeTxsFrame(w *bufio.Writer, txs []mempool.Tx, payload, maxTx int) (int, error) {
	var hdr [1 + binary.MaxVarintLen64]byte
	b := binary.AppendUvarint(hdr[:0], uint64(payload))
	if _, err := w.Write(b); err != nil {
		return 0, err
	}
	written := len(b)
	for _, tx := range txs {
		if len(tx.Tx) == 0 || len(tx.Tx) > maxTx {
			continue
		}
		b = binary.AppendUvarint(append(hdr[:0], txsField), uint64(len(tx.Tx)))
		if _, err := w.Write(b); err != nil {
			return 0, err
		}
		if _, err := w.Write(tx.Tx); err != nil {
			return 0, err
		}
		written += len(b) + len(tx.Tx)
	}
	return written, nil
}

// decodeTxs decodes the payload of a tx frame. Every tx must be 1 to maxTx
// bytes; an empty frame is refused too.
func decodeTxs(payload []byte, maxTx int) ([][]byte, error) {
	var m p2ppb.Txs
	if err := decodeFrame(payload, &m); err != nil {
		return nil, err
	}
	if len(m.Txs) == 0 {
		return nil, fmt.Errorf("%w: no txs", errOutOfRange)
	}
	for _, tx := range m.Txs {
		if len(tx) == 0 || len(tx) > maxTx {
			return nil, fmt.Errorf("%w: tx of %d bytes, max %d", errOutOfRange, len(tx), maxTx)
		}
	}
	return m.Txs, nil
}

// handleTxs reads a peer's tx stream: its txs into the Txs channel, a
// frame at a time, waiting while the channel is full; on /bftnode/tx/2
// also its announcements (the unknown hashes become our wants) and its
// wants, which go to our writer to it. A frame that does not decode or
// holds an empty or oversized tx ends the stream and costs the peer score.
func (t *Transport) handleTxs(s network.Stream) {
	p := s.Conn().RemotePeer()
	if t.gater.isBanned(p) {
		_ = s.Reset()
		return
	}
	ps := t.ensurePeer(p)
	defer t.onDisconnected(p)
	from := p.String()
	announce := string(s.Protocol()) == ProtocolTxAnnounce
	r := bufio.NewReaderSize(s, 64<<10)
	for {
		payload, n, err := readFrame(r, t.cfg.maxTxFrame())
		if err != nil {
			t.streamError(p, s, err)
			return
		}
		t.stats.recv(KindTx, n)
		var f txFrame
		if announce {
			f, err = decodeTxFrame(payload, t.cfg.MaxTxBytes)
		} else {
			f.txs, err = decodeTxs(payload, t.cfg.MaxTxBytes)
		}
		if err != nil {
			t.stats.badFrames.Add(1)
			t.penalize(p, penaltyFor(err), err)
			_ = s.Reset()
			return
		}
		if len(f.have) > 0 {
			ps.txReqs.add(false, t.announcer().Announced(from, f.have))
		}
		ps.txReqs.add(true, f.want)
		if len(f.txs) == 0 {
			continue
		}
		select {
		case t.txs <- InboundTxs{From: from, Txs: f.txs}:
		case <-ps.ctx.Done():
			_ = s.Reset()
			return
		}
	}
}

// announcer is the pool's side of /bftnode/tx/2, or nil if it has none.
func (t *Transport) announcer() TxAnnouncer {
	a, _ := t.cfg.TxSource.(TxAnnouncer)
	return a
}
