package p2p

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	sspb "github.com/bftnode/bftnode/proto/bftnode/statesync"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/statesync"
)

// snapSource serves 12 snapshots (heights 1..12, two chunks each) and
// records the chunks the application was asked for.
type snapSource struct {
	mu    sync.Mutex
	asked []string
}

func (s *snapSource) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	var out []*abci.Snapshot
	for h := uint64(1); h <= 12; h++ {
		out = append(out, &abci.Snapshot{Height: h, Format: 1, Chunks: 2, Hash: []byte{byte(h)}})
	}
	return &abci.ResponseListSnapshots{Snapshots: out}, nil
}

func (s *snapSource) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, fmt.Sprintf("%d/%d/%d", req.Height, req.Format, req.Chunk))
	return &abci.ResponseLoadSnapshotChunk{Chunk: fmt.Appendf(nil, "chunk %d of %d", req.Chunk, req.Height)}, nil
}

// TestSnapshotsProtocol: a peer lists the highest MaxSnapshotsPerPeer of
// its application's snapshots and serves their chunks; a chunk of a
// snapshot it does not list is answered missing without asking the
// application.
func TestSnapshotsProtocol(t *testing.T) {
	server, client := newTestNode(t, nil), newTestNode(t, nil)
	src := &snapSource{}
	server.ServeSnapshots(src)
	connect(t, client, server)
	waitFor(t, "the server among the client's peers", func() bool { return slices.Contains(client.SnapshotPeers(), server.ID().String()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	snaps, err := client.ListSnapshots(ctx, server.ID().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != statesync.MaxSnapshotsPerPeer || snaps[0].Height != 12 || snaps[len(snaps)-1].Height != 3 {
		t.Fatalf("listed %d snapshots from height %d to %d; want the %d highest (12 down to 3)", len(snaps), snaps[0].Height, snaps[len(snaps)-1].Height, statesync.MaxSnapshotsPerPeer)
	}
	chunk, err := client.LoadChunk(ctx, server.ID().String(), snaps[0], 1)
	if err != nil || string(chunk) != "chunk 1 of 12" {
		t.Fatalf("chunk 1 of height 12: %q, %v", chunk, err)
	}
	for _, bad := range []struct {
		s     statesync.Snapshot
		index uint32
	}{
		{statesync.Snapshot{Height: 12, Format: 1, Chunks: 2}, 2}, // past its chunks
		{statesync.Snapshot{Height: 1, Format: 1, Chunks: 2}, 0},  // not listed (too old)
		{statesync.Snapshot{Height: 12, Format: 9, Chunks: 2}, 0}, // no such format
	} {
		if _, err := client.LoadChunk(ctx, server.ID().String(), bad.s, bad.index); err == nil {
			t.Errorf("chunk %d of height %d format %d served", bad.index, bad.s.Height, bad.s.Format)
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if !slices.Equal(src.asked, []string{"12/1/1"}) {
		t.Errorf("the application was asked for chunks %v, want only 12/1/1", src.asked)
	}
}

// FuzzSnapshotsFrames feeds the decoders of /bftnode/snapshots/1 arbitrary
// payloads: they never panic, and what they accept keeps the protocol's
// bounds and answers the request made.
func FuzzSnapshotsFrames(f *testing.F) {
	for _, m := range []interface{ Marshal() ([]byte, error) }{
		&sspb.Request{Snapshots: &sspb.SnapshotsRequest{}},
		&sspb.Request{Chunk: &sspb.ChunkRequest{Height: 5, Format: 1, Index: 2}},
		&sspb.SnapshotsResponse{Snapshots: []sspb.Snapshot{{Height: 5, Format: 1, Chunks: 3, Hash: []byte{1}, Metadata: []byte{2}}}},
		&sspb.ChunkResponse{Height: 5, Format: 1, Index: 2, Chunk: []byte("data")},
		&sspb.ChunkResponse{Height: 5, Format: 1, Index: 2, Missing: true},
	} {
		bz, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bz)
	}
	req := &sspb.ChunkRequest{Height: 5, Format: 1, Index: 2}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r sspb.Request
		if err := decodeFrame(payload, &r); err == nil {
			if checkSnapshotRequest(&r) == nil && (r.Snapshots == nil) == (r.Chunk == nil) {
				t.Fatal("a request setting both or neither field passed the check")
			}
		}
		if snaps, err := decodeSnapshotsResponse(payload); err == nil {
			if len(snaps) > statesync.MaxSnapshotsPerPeer {
				t.Fatalf("accepted %d snapshots", len(snaps))
			}
			for _, s := range snaps {
				if s.Height == 0 || s.Chunks == 0 || len(s.Hash)+len(s.Metadata) > statesync.MaxSnapshotBytes {
					t.Fatalf("accepted snapshot %+v", s)
				}
			}
		}
		if chunk, err := decodeChunkResponse(payload, req); err == nil {
			var resp sspb.ChunkResponse
			if decodeFrame(payload, &resp) != nil || resp.Index != 2 || resp.Height != 5 || resp.Missing || !bytes.Equal(chunk, resp.Chunk) || len(chunk) == 0 {
				t.Fatalf("accepted a chunk answering another request: %+v", resp)
			}
		}
	})
}
