package p2p

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cosmos/gogoproto/proto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	sspb "github.com/bftnode/bftnode/proto/bftnode/statesync"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/statesync"
)

// ProtocolSnapshots is state sync's stream protocol: one request frame
// (sspb.Request), one response frame (sspb.SnapshotsResponse or
// sspb.ChunkResponse).
const ProtocolSnapshots = "/bftnode/snapshots/1"

// Bounds of /bftnode/snapshots/1.
const (
	// maxChunkBytes is the largest chunk served or accepted (CometBFT's
	// limit on a chunk message is 16 MB too).
	maxChunkBytes   = 16 << 20
	maxChunkFrame   = maxChunkBytes + 1<<10
	maxSnapsFrame   = statesync.MaxSnapshotsPerPeer * (statesync.MaxSnapshotBytes + 64)
	snapshotTimeout = 30 * time.Second // serving one request, app call included
)

// errSnapshotAnswer marks a peer's answer that breaks the protocol.
var errSnapshotAnswer = errors.New("p2p: bad snapshots answer")

// SnapshotSource is the application's serving side of state sync
// (app.Application has it).
type SnapshotSource interface {
	ListSnapshots(ctx context.Context, req *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error)
	LoadSnapshotChunk(ctx context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error)
}

var _ statesync.Network = (*Transport)(nil)

// ServeSnapshots answers /bftnode/snapshots/1 from src: the snapshots it
// lists (the highest MaxSnapshotsPerPeer) and their chunks. A chunk is
// only asked of src for a snapshot it lists, so a peer cannot make the
// application look for one it does not have. Requests are served at most
// two per peer and sixteen in all at once; more are refused.
func (t *Transport) ServeSnapshots(src SnapshotSource) {
	slots := &servingSlots{}
	t.host.SetStreamHandler(ProtocolSnapshots, func(s network.Stream) { t.handleSnapshots(s, src, slots) })
}

func (t *Transport) handleSnapshots(s network.Stream, src SnapshotSource, slots *servingSlots) {
	defer s.Close()
	var req sspb.Request
	if !t.readRequest(s, KindSnapshots, &req, func() error { return checkSnapshotRequest(&req) }) {
		return
	}
	p := s.Conn().RemotePeer()
	if !slots.start(p) {
		_ = s.Reset()
		return
	}
	defer slots.done(p)
	ctx, cancel := context.WithTimeout(t.ctx, snapshotTimeout)
	defer cancel()
	_ = s.SetDeadline(time.Now().Add(snapshotTimeout))
	snaps, err := listSnapshots(ctx, src)
	if err != nil {
		t.log.Warn("state sync: the application did not list its snapshots", "err", err)
		_ = s.Reset()
		return
	}
	var resp proto.Message = &sspb.SnapshotsResponse{Snapshots: snaps}
	if req.Chunk != nil {
		resp = t.loadChunk(ctx, src, snaps, req.Chunk)
	}
	f, err := encodeFrame(resp)
	if err != nil {
		_ = s.Reset()
		return
	}
	if _, err := s.Write(f); err != nil {
		_ = s.Reset()
		return
	}
	t.stats.sent(KindSnapshots, len(f))
}

func checkSnapshotRequest(req *sspb.Request) error {
	if (req.Snapshots == nil) == (req.Chunk == nil) {
		return fmt.Errorf("%w: snapshots request sets %d fields, want one", ErrBadFrame, boolInt(req.Snapshots != nil)+boolInt(req.Chunk != nil))
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listSnapshots is src's snapshots that fit the protocol, highest first,
// at most MaxSnapshotsPerPeer.
func listSnapshots(ctx context.Context, src SnapshotSource) ([]sspb.Snapshot, error) {
	resp, err := src.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	if err != nil {
		return nil, err
	}
	var out []sspb.Snapshot
	for _, s := range resp.Snapshots {
		if s == nil || s.Height == 0 || s.Chunks == 0 || len(s.Hash)+len(s.Metadata) > statesync.MaxSnapshotBytes {
			continue
		}
		out = append(out, sspb.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks, Hash: s.Hash, Metadata: s.Metadata})
	}
	slices.SortStableFunc(out, func(a, b sspb.Snapshot) int {
		if a.Height != b.Height {
			return cmp.Compare(b.Height, a.Height)
		}
		return cmp.Compare(b.Format, a.Format)
	})
	return out[:min(len(out), statesync.MaxSnapshotsPerPeer)], nil
}

// loadChunk answers a chunk request: the chunk, or missing when the
// snapshot is not among snaps, the index is past its chunks, or src has
// no such chunk.
func (t *Transport) loadChunk(ctx context.Context, src SnapshotSource, snaps []sspb.Snapshot, req *sspb.ChunkRequest) *sspb.ChunkResponse {
	resp := &sspb.ChunkResponse{Height: req.Height, Format: req.Format, Index: req.Index, Missing: true}
	if !slices.ContainsFunc(snaps, func(s sspb.Snapshot) bool {
		return s.Height == req.Height && s.Format == req.Format && req.Index < s.Chunks
	}) {
		return resp
	}
	c, err := src.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: req.Height, Format: req.Format, Chunk: req.Index})
	if err != nil {
		t.log.Warn("state sync: the application did not load a snapshot chunk", "height", req.Height, "chunk", req.Index, "err", err)
		return resp
	}
	if len(c.Chunk) == 0 || len(c.Chunk) > maxChunkBytes {
		return resp
	}
	resp.Chunk, resp.Missing = c.Chunk, false
	return resp
}

// SnapshotPeers lists the connected peers (statesync.Network).
func (t *Transport) SnapshotPeers() []string {
	ids := t.Peers()
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	slices.Sort(out)
	return out
}

// ListSnapshots asks peer for the snapshots it serves
// (statesync.Network). A malformed answer costs the peer.
func (t *Transport) ListSnapshots(ctx context.Context, peerID string) ([]statesync.Snapshot, error) {
	payload, p, err := t.snapshotCall(ctx, peerID, &sspb.Request{Snapshots: &sspb.SnapshotsRequest{}}, maxSnapsFrame)
	if err != nil {
		return nil, err
	}
	snaps, err := decodeSnapshotsResponse(payload)
	if err != nil {
		t.penalize(p, penaltyInvalid, err)
	}
	return snaps, err
}

// LoadChunk asks peer for chunk index of s (statesync.Network). The
// caller judges and reports the peer when this fails.
func (t *Transport) LoadChunk(ctx context.Context, peerID string, s statesync.Snapshot, index uint32) ([]byte, error) {
	req := &sspb.ChunkRequest{Height: s.Height, Format: s.Format, Index: index}
	payload, _, err := t.snapshotCall(ctx, peerID, &sspb.Request{Chunk: req}, maxChunkFrame)
	if err != nil {
		return nil, err
	}
	return decodeChunkResponse(payload, req)
}

// snapshotCall sends req to peerID on a new snapshots stream and reads
// the one answer frame, of at most limit bytes.
func (t *Transport) snapshotCall(ctx context.Context, peerID string, req *sspb.Request, limit int) ([]byte, peer.ID, error) {
	p, err := peer.Decode(peerID)
	if err != nil {
		return nil, "", fmt.Errorf("p2p: peer %q: %w", peerID, err)
	}
	s, err := t.host.NewStream(ctx, p, ProtocolSnapshots)
	if err != nil {
		return nil, p, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	f, err := encodeFrame(req)
	if err != nil {
		return nil, p, err
	}
	if _, err := s.Write(f); err != nil {
		return nil, p, err
	}
	t.stats.sent(KindSnapshots, len(f))
	_ = s.CloseWrite()
	payload, n, err := readFrame(bufio.NewReader(s), limit)
	if err != nil {
		return nil, p, err
	}
	t.stats.recv(KindSnapshots, n)
	return payload, p, nil
}

// decodeSnapshotsResponse decodes and checks a peer's list of snapshots.
func decodeSnapshotsResponse(payload []byte) ([]statesync.Snapshot, error) {
	var resp sspb.SnapshotsResponse
	if err := decodeFrame(payload, &resp); err != nil {
		return nil, err
	}
	if len(resp.Snapshots) > statesync.MaxSnapshotsPerPeer {
		return nil, fmt.Errorf("%w: %d snapshots, at most %d", errSnapshotAnswer, len(resp.Snapshots), statesync.MaxSnapshotsPerPeer)
	}
	out := make([]statesync.Snapshot, 0, len(resp.Snapshots))
	for _, s := range resp.Snapshots {
		if s.Height == 0 || s.Chunks == 0 || len(s.Hash)+len(s.Metadata) > statesync.MaxSnapshotBytes {
			return nil, fmt.Errorf("%w: snapshot at height %d with %d chunks and %d bytes of hash and metadata", errSnapshotAnswer, s.Height, s.Chunks, len(s.Hash)+len(s.Metadata))
		}
		out = append(out, statesync.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks, Hash: s.Hash, Metadata: s.Metadata})
	}
	return out, nil
}

// decodeChunkResponse decodes a peer's answer to req: the chunk, or an
// error when it is missing or answers another request.
func decodeChunkResponse(payload []byte, req *sspb.ChunkRequest) ([]byte, error) {
	var resp sspb.ChunkResponse
	if err := decodeFrame(payload, &resp); err != nil {
		return nil, err
	}
	switch {
	case resp.Height != req.Height || resp.Format != req.Format || resp.Index != req.Index:
		return nil, fmt.Errorf("%w: chunk %d of height %d format %d, asked for chunk %d of height %d format %d",
			errSnapshotAnswer, resp.Index, resp.Height, resp.Format, req.Index, req.Height, req.Format)
	case resp.Missing:
		return nil, fmt.Errorf("p2p: peer lacks chunk %d of the snapshot at height %d", req.Index, req.Height)
	case len(resp.Chunk) == 0:
		return nil, fmt.Errorf("%w: empty chunk %d not marked missing", errSnapshotAnswer, req.Index)
	}
	return resp.Chunk, nil
}
