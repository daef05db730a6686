package p2p

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/bftnode/bftnode/mempool"
)

// Tx gossip with announcements (/bftnode/tx/2). On /bftnode/tx/1 every node
// sends every tx to every peer that did not send it to us, so in a full
// mesh of n nodes a tx crosses the wire about (n-1)² times: the relays race
// the origin's own sends. On /bftnode/tx/2 a node sends in full only the
// txs that a local client gave it. A tx that a peer sent (a relayed one)
// it only announces, by hash, to its other peers, and only once
// Config.TxRelayDelay has passed since it read the tx from the pool; by
// then the origin's copy has nearly always arrived everywhere it was sent,
// so the peers know the hash and ask for nothing. A peer that does not know
// an announced hash asks for it (a want), and gets the tx in full. So a tx
// crosses each link it needs once, and relays still carry it where the
// origin's links do not reach (a partial mesh, a lost connection).
//
// A frame of /bftnode/tx/2 is a protobuf message whose field 1 is the
// repeated txs of /bftnode/tx/1's Txs message, field 2 (bytes) the
// announced hashes and field 3 (bytes) the wanted hashes, each a
// concatenation of 32-byte SHA-256 tx hashes. A node offers /bftnode/tx/2
// first and /bftnode/tx/1 second, so it speaks the old protocol to a peer
// that knows only that one (and sends it every tx in full, as before).

// TxAnnouncer is the pool's side of announcements: the mempool. A
// TxSource that is not one speaks only /bftnode/tx/1.
type TxAnnouncer interface {
	// LocalTxsAfter is mempool.Mempool.LocalTxsAfter.
	LocalTxsAfter(after uint64, limit int) mempool.TxBatch
	// RelayedTxsAfter is mempool.Mempool.RelayedTxsAfter.
	RelayedTxsAfter(after uint64, peer string, limit int) mempool.TxBatch
	// Announced is mempool.Mempool.Announced.
	Announced(peer string, hashes [][32]byte) (unknown [][32]byte)
	// Wanted is mempool.Mempool.Wanted.
	Wanted(peer string, hashes [][32]byte) []mempool.Tx
}

// Fields of a /bftnode/tx/2 frame beside field 1 (txs, as in p2ppb.Txs).
const (
	txHaveField  = 2
	txWantField  = 3
	txHashLength = 32
)

// maxTxRequests bounds the hashes waiting in each of a peer's txRequests
// queues; more are dropped (those txs do not travel over that link).
const maxTxRequests = 4 * txBatchMax

// txRequests carries hashes from a peer's tx reader to our tx writer to
// that peer: the hashes it announced that we want, and the hashes it
// wants from us.
type txRequests struct {
	mu          sync.Mutex
	want, asked [][32]byte
	ready       chan struct{} // holds a token while either is non-empty
}

func newTxRequests() *txRequests { return &txRequests{ready: make(chan struct{}, 1)} }

// add appends hashes to the want (asked false) or asked queue, dropping
// those past maxTxRequests, and wakes the writer.
func (r *txRequests) add(asked bool, hashes [][32]byte) {
	if len(hashes) == 0 {
		return
	}
	r.mu.Lock()
	q := &r.want
	if asked {
		q = &r.asked
	}
	*q = append(*q, hashes[:min(len(hashes), max(0, maxTxRequests-len(*q)))]...)
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// take empties both queues.
func (r *txRequests) take() (want, asked [][32]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	want, asked = r.want, r.asked
	r.want, r.asked = nil, nil
	return want, asked
}

// writeHashFrames writes hashes as the given field of /bftnode/tx/2
// frames, each well under the peer's frame limit. It does not flush.
func (t *Transport) writeHashFrames(w *bufio.Writer, field protowire.Number, hashes [][32]byte) error {
	perFrame := max(1, min(txFramePayload, t.cfg.MaxTxBytes)/txHashLength)
	var buf []byte
	for len(hashes) > 0 {
		n := min(len(hashes), perFrame)
		body := protowire.AppendTag(nil, field, protowire.BytesType)
		body = protowire.AppendVarint(body, uint64(n*txHashLength))
		buf = binary.AppendUvarint(buf[:0], uint64(len(body)+n*txHashLength))
		buf = append(buf, body...)
		for _, h := range hashes[:n] {
			buf = append(buf, h[:]...)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		t.stats.sent(KindTx, len(buf))
		hashes = hashes[n:]
	}
	return nil
}

// txFrame is a decoded /bftnode/tx/2 frame.
type txFrame struct {
	txs        [][]byte
	have, want [][32]byte
}

// decodeTxFrame decodes the payload of a /bftnode/tx/2 frame. Every tx
// must be 1 to maxTx bytes and every hash list a whole number of hashes;
// an empty frame and unknown fields are refused.
func decodeTxFrame(payload []byte, maxTx int) (txFrame, error) {
	var f txFrame
	for len(payload) > 0 {
		num, typ, n := protowire.ConsumeTag(payload)
		if n < 0 || typ != protowire.BytesType {
			return f, fmt.Errorf("%w: tx frame: bad field tag", ErrBadFrame)
		}
		payload = payload[n:]
		v, n := protowire.ConsumeBytes(payload)
		if n < 0 {
			return f, fmt.Errorf("%w: tx frame: field %d: %w", ErrBadFrame, num, protowire.ParseError(n))
		}
		payload = payload[n:]
		switch num {
		case 1:
			if len(v) == 0 || len(v) > maxTx {
				return f, fmt.Errorf("%w: tx of %d bytes, max %d", errOutOfRange, len(v), maxTx)
			}
			f.txs = append(f.txs, v)
		case txHaveField, txWantField:
			if len(v) == 0 || len(v)%txHashLength != 0 {
				return f, fmt.Errorf("%w: %d bytes of tx hashes, not a whole number of %d-byte hashes", errOutOfRange, len(v), txHashLength)
			}
			q := &f.have
			if num == txWantField {
				q = &f.want
			}
			for ; len(v) > 0; v = v[txHashLength:] {
				*q = append(*q, [32]byte(v[:txHashLength]))
			}
		default:
			return f, fmt.Errorf("%w: tx frame: unknown field %d", ErrBadFrame, num)
		}
	}
	if len(f.txs)+len(f.have)+len(f.want) == 0 {
		return f, fmt.Errorf("%w: empty tx frame", errOutOfRange)
	}
	return f, nil
}
