package p2p

import (
	"bufio"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/bftnode/bftnode/mempool"
)

// txWriter is the state of runTxWriter, the writer of our tx stream to
// one peer.
type txWriter struct {
	t    *Transport
	ps   *peerState
	from string // the peer, as the pool names senders
	s    network.Stream
	w    *bufio.Writer
	// announce says the stream speaks /bftnode/tx/2.
	announce bool
	// cursor is the pool's sequence number up to which txs were read (and
	// ours sent); relayed is the one up to which relayed txs were
	// announced, trailing cursor by TxRelayDelay.
	cursor, relayed uint64
	// marks are the cursor's values after reads that advanced it, with
	// the times of those reads, oldest first.
	marks []txMark
}

type txMark struct {
	seq uint64
	at  time.Time
}

func (tw *txWriter) close() {
	if tw.s != nil {
		_ = tw.s.Close()
	}
}

// open opens the stream if it is not open yet, offering /bftnode/tx/2
// first when the pool can answer announcements.
func (tw *txWriter) open() error {
	if tw.s != nil {
		return nil
	}
	protos := []string{ProtocolTx}
	if tw.t.announcer() != nil {
		protos = []string{ProtocolTxAnnounce, ProtocolTx}
	}
	s, err := tw.t.openStream(tw.ps.ctx, tw.ps.id, protos...)
	if err != nil {
		return err
	}
	tw.s, tw.w = s, bufio.NewWriterSize(s, 64<<10)
	tw.announce = string(s.Protocol()) == ProtocolTxAnnounce
	return nil
}

// read reads the txs after the cursor that are to be sent at once: all of
// them on /bftnode/tx/1, those no peer is known to have (our clients') on
// /bftnode/tx/2, where the others wait for announceDue.
func (tw *txWriter) read() mempool.TxBatch {
	if tw.announce {
		return tw.t.announcer().LocalTxsAfter(tw.cursor, txBatchMax)
	}
	return tw.t.cfg.TxSource.TxsAfter(tw.cursor, tw.from, txBatchMax)
}

// sendNew sends the txs of b, from read, and advances the cursor past them.
func (tw *txWriter) sendNew(b mempool.TxBatch) error {
	if tw.announce && b.Next > tw.cursor {
		tw.mark(time.Now(), b.Next)
	}
	tw.cursor = max(tw.cursor, b.Next)
	if len(b.Txs) == 0 {
		return nil
	}
	if err := tw.open(); err != nil {
		return err
	}
	return tw.t.writeTxs(tw.w, b.Txs)
}

// mark records that the pool was read at now up to b.Next, the cursor
// about to be. A read soon after the previous one extends its mark, so
// marks stay few.
func (tw *txWriter) mark(now time.Time, next uint64) {
	if n := len(tw.marks); n > 0 && now.Sub(tw.marks[n-1].at) < tw.t.cfg.TxBatchDelay {
		tw.marks[n-1].seq = next
		return
	}
	tw.marks = append(tw.marks, txMark{seq: next, at: now})
}

// nextDue is when the oldest relayed txs not yet announced fall due.
func (tw *txWriter) nextDue() (time.Time, bool) {
	if len(tw.marks) == 0 {
		return time.Time{}, false
	}
	return tw.marks[0].at.Add(tw.t.cfg.TxRelayDelay), true
}

// announceDue announces the relayed txs read TxRelayDelay ago or earlier
// that the peer has not sent or announced to us meanwhile.
func (tw *txWriter) announceDue() error {
	limit := time.Now().Add(-tw.t.cfg.TxRelayDelay)
	n := 0
	for n < len(tw.marks) && !tw.marks[n].at.After(limit) {
		n++
	}
	if n == 0 {
		return nil
	}
	target := tw.marks[n-1].seq
	tw.marks = tw.marks[n:]
	var hashes [][32]byte
	for tw.relayed < target {
		b := tw.t.announcer().RelayedTxsAfter(tw.relayed, tw.from, txBatchMax)
		tw.relayed = min(b.Next, target)
		for _, tx := range b.Txs {
			if tx.Seq > target {
				break
			}
			hashes = append(hashes, tx.Hash)
		}
		if len(b.Txs) < txBatchMax {
			tw.relayed = target
		}
	}
	if len(hashes) == 0 {
		return nil
	}
	if err := tw.t.writeHashFrames(tw.w, txHaveField, hashes); err != nil {
		return err
	}
	return tw.w.Flush()
}

// keepUp answers the peer's requests, if any, and announces what is due.
func (tw *txWriter) keepUp() error {
	select {
	case <-tw.ps.txReqs.ready:
		if err := tw.answer(); err != nil {
			return err
		}
	default:
	}
	return tw.announceDue()
}

// answer sends the peer our wants (the hashes it announced that we do not
// know) and the txs it wants that are still in the pool.
func (tw *txWriter) answer() error {
	want, asked := tw.ps.txReqs.take()
	if len(want)+len(asked) == 0 {
		return nil
	}
	if err := tw.open(); err != nil || !tw.announce {
		return err // a peer on /bftnode/tx/1 announces nothing
	}
	if err := tw.t.writeHashFrames(tw.w, txWantField, want); err != nil {
		return err
	}
	return tw.t.writeTxs(tw.w, tw.t.announcer().Wanted(tw.from, asked))
}
