package statesync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// A test snapshot's metadata is the SHA-256 of each chunk, concatenated;
// the restored state is the chunks concatenated, and its app hash the
// SHA-256 of that state.

// makeSnapshot cuts state into n chunks and describes them.
func makeSnapshot(height uint64, format uint32, state []byte, n int) (Snapshot, [][]byte) {
	var chunks [][]byte
	var meta []byte
	size := (len(state) + n - 1) / n
	for i := range n {
		c := state[min(i*size, len(state)):min((i+1)*size, len(state))]
		chunks = append(chunks, c)
		h := sha256.Sum256(c)
		meta = append(meta, h[:]...)
	}
	h := sha256.Sum256(state)
	return Snapshot{Height: height, Format: format, Chunks: uint32(n), Hash: h[:], Metadata: meta}, chunks
}

func appHashOf(state []byte) []byte {
	h := sha256.Sum256(state)
	return h[:]
}

// fakePeer serves snapshots; corrupt flips the chunks it sends, silent
// never answers a chunk request.
type fakePeer struct {
	snaps   []Snapshot
	chunks  map[snapshotKey][][]byte
	corrupt bool
	silent  bool
}

// fakeNet is an in-memory Network.
type fakeNet struct {
	mu       sync.Mutex
	peers    map[string]*fakePeer
	reports  map[string][]error
	requests []string // "peer:index", in order
}

func newFakeNet() *fakeNet {
	return &fakeNet{peers: map[string]*fakePeer{}, reports: map[string][]error{}}
}

func (n *fakeNet) serve(peer string, s Snapshot, chunks [][]byte) *fakePeer {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.peers[peer]
	if p == nil {
		p = &fakePeer{chunks: map[snapshotKey][][]byte{}}
		n.peers[peer] = p
	}
	p.snaps = append(p.snaps, s)
	p.chunks[s.key()] = chunks
	return p
}

func (n *fakeNet) SnapshotPeers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for p := range n.peers {
		out = append(out, p)
	}
	return out
}

func (n *fakeNet) ListSnapshots(_ context.Context, peer string) ([]Snapshot, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Snapshot(nil), n.peers[peer].snaps...), nil
}

func (n *fakeNet) LoadChunk(ctx context.Context, peer string, s Snapshot, index uint32) ([]byte, error) {
	n.mu.Lock()
	n.requests = append(n.requests, fmt.Sprintf("%s:%d", peer, index))
	p := n.peers[peer]
	n.mu.Unlock()
	if p.silent {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	chunks := p.chunks[s.key()]
	if int(index) >= len(chunks) {
		return nil, errors.New("no such chunk")
	}
	c := bytes.Clone(chunks[index])
	if p.corrupt {
		c = append(c, 0xff)
	}
	return c, nil
}

func (n *fakeNet) ReportPeer(peer string, reason error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reports[peer] = append(n.reports[peer], reason)
}

func (n *fakeNet) reported(peer string, target error) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, err := range n.reports[peer] {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// fakeApp restores test snapshots: it checks each chunk against the
// metadata and refuses a bad one (RETRY, refetch it, reject its sender),
// as a careful application does. Hooks override its answers.
type fakeApp struct {
	mu      sync.Mutex
	offered []uint64 // heights offered, in order
	restore *Snapshot
	chunks  [][]byte
	senders []string // sender of each accepted chunk
	bad     []string // senders of refused chunks
	height  uint64
	state   []byte
	onOffer func(s *abci.Snapshot) abci.ResponseOfferSnapshot_Result
	onApply func(req *abci.RequestApplySnapshotChunk) *abci.ResponseApplySnapshotChunk
	applied []uint32 // every ApplySnapshotChunk's index, in order
}

func (a *fakeApp) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{LastBlockHeight: int64(a.height), LastBlockAppHash: appHashOf(a.state)}, nil
}

func (a *fakeApp) OfferSnapshot(_ context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offered = append(a.offered, req.Snapshot.Height)
	if a.onOffer != nil {
		if r := a.onOffer(req.Snapshot); r != abci.ResponseOfferSnapshot_ACCEPT {
			return &abci.ResponseOfferSnapshot{Result: r}, nil
		}
	}
	s := Snapshot{Height: req.Snapshot.Height, Format: req.Snapshot.Format, Chunks: req.Snapshot.Chunks, Hash: req.Snapshot.Hash, Metadata: req.Snapshot.Metadata}
	a.restore = &s
	a.chunks = make([][]byte, s.Chunks)
	a.senders = make([]string, s.Chunks)
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ACCEPT}, nil
}

func (a *fakeApp) ApplySnapshotChunk(_ context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = append(a.applied, req.Index)
	var hook *abci.ResponseApplySnapshotChunk
	if a.onApply != nil {
		if hook = a.onApply(req); hook != nil && hook.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			return hook, nil
		}
	}
	resp, err := a.apply(req)
	if hook != nil && err == nil {
		resp.RefetchChunks = append(resp.RefetchChunks, hook.RefetchChunks...)
		resp.RejectSenders = append(resp.RejectSenders, hook.RejectSenders...)
	}
	return resp, err
}

// apply checks and keeps one chunk; a.mu is held.
func (a *fakeApp) apply(req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	if a.restore == nil {
		return nil, errors.New("no restore in progress")
	}
	h := sha256.Sum256(req.Chunk)
	if !bytes.Equal(h[:], a.restore.Metadata[32*req.Index:32*(req.Index+1)]) {
		a.bad = append(a.bad, req.Sender)
		return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_RETRY,
			RefetchChunks: []uint32{req.Index}, RejectSenders: []string{req.Sender}}, nil
	}
	a.chunks[req.Index] = req.Chunk
	a.senders[req.Index] = req.Sender
	for _, c := range a.chunks {
		if c == nil {
			return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
		}
	}
	a.height, a.state = a.restore.Height, bytes.Join(a.chunks, nil)
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ACCEPT}, nil
}

// fakeVerifier knows the verified app hash of each height.
type fakeVerifier map[uint64][]byte

func (v fakeVerifier) AppHash(_ context.Context, height uint64) ([]byte, error) {
	h, ok := v[height]
	if !ok {
		return nil, fmt.Errorf("height %d not verified", height)
	}
	return h, nil
}
