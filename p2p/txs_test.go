package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/bftnode/bftnode/mempool"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
)

type acceptTxs struct{}

func (acceptTxs) CheckTx(context.Context, []byte, bool) (mempool.CheckResult, error) {
	return mempool.CheckResult{}, nil
}

type noneCommitted struct{}

func (noneCommitted) HasTx([32]byte) bool { return false }

// recordingPool is a mempool that records what each peer's tx writer read.
type recordingPool struct {
	*mempool.Mempool
	mu     sync.Mutex
	cursor map[string]uint64 // Next of the peer's last read
	given  map[string]int    // txs handed out for the peer
}

func newRecordingPool(t *testing.T) *recordingPool {
	t.Helper()
	mp, err := mempool.New(mempool.DefaultConfig(), acceptTxs{}, noneCommitted{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &recordingPool{Mempool: mp, cursor: map[string]uint64{}, given: map[string]int{}}
}

func (r *recordingPool) TxsAfter(after uint64, peer string, limit int) mempool.TxBatch {
	b := r.Mempool.TxsAfter(after, peer, limit)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cursor[peer] = b.Next
	r.given[peer] += len(b.Txs)
	return b
}

func (r *recordingPool) read(peer string) (cursor uint64, given int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cursor[peer], r.given[peer]
}

func receiveTxs(t *testing.T, tr *Transport) InboundTxs {
	t.Helper()
	return recv(t, tr.Txs(), "txs")
}

// On /bftnode/tx/1, transactions stream from each node's pool to its
// peers, never back to a peer that sent them.
func TestTxGossip(t *testing.T) {
	pools := make([]*recordingPool, 3)
	nodes := startMesh(t, 3, func(i int, c *Config) {
		pools[i] = newRecordingPool(t)
		c.TxSource = v1Source{pools[i]}
	})
	id := func(i int) string { return nodes[i].ID().String() }
	ctx := context.Background()
	tx := []byte("tx-1")
	wantTx := func(in InboundTxs) {
		t.Helper()
		if len(in.Txs) != 1 || !bytes.Equal(in.Txs[0], tx) {
			t.Fatalf("got %q from %s, want %q", in.Txs, in.From, tx)
		}
	}

	if _, err := pools[0].CheckTx(ctx, tx); err != nil {
		t.Fatal(err)
	}
	in := receiveTxs(t, nodes[1])
	wantTx(in)
	if in.From != id(0) {
		t.Fatalf("node 1 got the tx from %s, want node 0", in.From)
	}
	// Node 1's pool takes it: node 1 relays it to node 2 only.
	if _, err := pools[1].CheckTxFrom(ctx, tx, in.From); err != nil {
		t.Fatal(err)
	}
	// Node 2 hears it from both before its pool takes it.
	var froms []string
	for range 2 {
		in := receiveTxs(t, nodes[2])
		wantTx(in)
		froms = append(froms, in.From)
	}
	for _, from := range froms {
		_, _ = pools[2].CheckTxFrom(ctx, tx, from)
	}
	slices.Sort(froms)
	wantFroms := []string{id(0), id(1)}
	slices.Sort(wantFroms)
	if !slices.Equal(froms, wantFroms) {
		t.Fatalf("node 2 got the tx from %v, want %v", froms, wantFroms)
	}

	// Once every writer has read past the tx, see what each handed out.
	want := []map[int]int{ // pool -> peer -> txs sent
		{1: 1, 2: 1},
		{0: 0, 2: 1},
		{0: 0, 1: 0}, // both peers sent it: node 2 sends nothing
	}
	for i, peers := range want {
		for j, n := range peers {
			waitFor(t, fmt.Sprintf("node %d's writer to node %d", i, j), func() bool {
				cursor, _ := pools[i].read(id(j))
				return cursor >= 1
			})
			if _, given := pools[i].read(id(j)); given != n {
				t.Errorf("node %d sent %d txs to node %d, want %d", i, given, j, n)
			}
		}
	}
	if got := nodes[0].Stats().Received[KindTx].Frames; got != 0 {
		t.Fatalf("node 0 received its tx back %d times", got)
	}
}

// writeTxs sends the same bytes as proto.Marshal of p2ppb.Txs, in frames
// within the limit, skipping txs a peer would refuse.
func TestWriteTxsFrames(t *testing.T) {
	const maxTx = 100
	tr := &Transport{cfg: Config{MaxTxBytes: maxTx}}
	var pool []mempool.Tx
	var want [][]byte
	for i := range 40 {
		tx := bytes.Repeat([]byte{byte(i)}, i*5) // 0 (skipped) to 195 bytes
		pool = append(pool, mempool.Tx{Seq: uint64(i + 1), Tx: tx})
		if len(tx) > 0 && len(tx) <= maxTx {
			want = append(want, tx)
		}
	}
	var buf bytes.Buffer
	if err := tr.writeTxs(bufio.NewWriter(&buf), pool); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(&buf)
	var got [][]byte
	frames := 0
	for {
		payload, _, err := readFrame(r, 2*maxTx+16)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		txs, err := decodeTxs(payload, maxTx)
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		if f, err := encodeFrame(&p2ppb.Txs{Txs: txs}); err != nil || !bytes.Equal(f[uvarintLen(uint64(len(payload))):], payload) {
			t.Fatalf("frame %d is not the proto encoding of its txs (%v)", frames, err)
		}
		got = append(got, txs...)
		frames++
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("got %d txs, want %d in order", len(got), len(want))
	}
	if frames < 2 || frames > len(want) {
		t.Fatalf("%d txs in %d frames: want several per frame, several frames", len(want), frames)
	}
	if s := tr.stats.snapshot(); s.Sent[KindTx].Frames != uint64(frames) {
		t.Fatalf("stats count %d frames sent, wrote %d", s.Sent[KindTx].Frames, frames)
	}
}

// FuzzTxsFrame feeds arbitrary payloads to the tx frame decoder: it must
// refuse them or return txs within the limit, which encode back to a frame
// that decodes to the same txs.
func FuzzTxsFrame(f *testing.F) {
	const maxTx = 64
	for _, txs := range [][][]byte{{[]byte("a")}, {[]byte("tx-1"), bytes.Repeat([]byte("x"), maxTx)}, {{}}} {
		fr, err := encodeFrame(&p2ppb.Txs{Txs: txs})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr[1:])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		txs, err := decodeTxs(payload, maxTx)
		if err != nil {
			return
		}
		pool := make([]mempool.Tx, len(txs))
		size := 0
		for i, tx := range txs {
			if len(tx) == 0 || len(tx) > maxTx {
				t.Fatalf("decoded a tx of %d bytes", len(tx))
			}
			pool[i].Tx = tx
			size += 1 + uvarintLen(uint64(len(tx))) + len(tx)
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if _, err := writeTxsFrame(w, pool, size, maxTx); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		back, _, err := readFrame(bufio.NewReader(&buf), len(payload)+16)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeTxs(back, maxTx)
		if err != nil || !slices.EqualFunc(again, txs, bytes.Equal) {
			t.Fatalf("re-encoded frame decodes to %q, %v; want %q", again, err, txs)
		}
	})
}

// A peer that keeps sending bad tx frames loses its stream each time, then
// is banned.
func TestBadTxFramesGetPeerBanned(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.MaxTxBytes = 8 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"undecodable", []byte{0xff, 0xff, 0xff}},
		{"empty tx", []byte{txsField, 0}},
		{"oversized tx", append([]byte{txsField, 9}, "123456789"...)},
		{"no txs", []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newRawHost(t)
			if err := dialRaw(ctx, h, a); err != nil {
				t.Fatal(err)
			}
			bad := a.Stats().BadFrames
			for attempt := 0; !a.gater.isBanned(h.ID()); attempt++ {
				if attempt == 10 {
					t.Fatalf("not banned after 10 bad frames; stats %+v", a.Stats())
				}
				s, err := h.NewStream(ctx, a.ID(), ProtocolTx)
				if err != nil {
					break // the connection is already gone
				}
				if _, err := s.Write(append([]byte{byte(len(tc.payload))}, tc.payload...)); err != nil {
					break
				}
				// The stream ends once the frame is refused.
				_, _ = s.Read(make([]byte, 1))
				_ = s.Close()
			}
			waitFor(t, "ban and disconnect", func() bool {
				return a.gater.isBanned(h.ID()) && h.Network().Connectedness(a.ID()) != network.Connected
			})
			if a.Stats().BadFrames == bad {
				t.Fatal("bad frames not counted")
			}
		})
	}
	select {
	case in := <-a.Txs():
		t.Fatalf("a bad frame was delivered: %q from %s", in.Txs, in.From)
	default:
	}
}
