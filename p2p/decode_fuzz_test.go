package p2p

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// FuzzBlockResponse feeds block sync's decoder arbitrary payloads: it never
// panics, and what it accepts is a block of the requested height with a
// commit for that very block.
func FuzzBlockResponse(f *testing.F) {
	block := makeBlock(3, [][]byte{[]byte("tx")}, types.BlockID{}, nil)
	id, err := types.MakeBlockID(block)
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []*p2ppb.BlockResponse{
		{Height: 3, Block: block.ToProto(), Commit: makeCommit(3, id).ToProto()},
		{Height: 3, Missing: true},
		{Height: 4, Block: block.ToProto()},
	} {
		fr, err := encodeFrame(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr[uvarintLen(uint64(len(fr))):])
	}
	tr := &Transport{cfg: Config{ChainID: testChain, MaxBlockBytes: 1 << 20}}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := tr.decodeBlockResponse(payload, 3)
		if err != nil {
			return
		}
		if m.Block.Header.Height != 3 || m.Commit.Height != 3 || m.Commit.BlockID.Hash != m.Block.Hash() {
			t.Fatalf("accepted block %d with commit %d for %X", m.Block.Header.Height, m.Commit.Height, m.Commit.BlockID.Hash)
		}
	})
}

// FuzzPexAddrs feeds the peer exchange decoder arbitrary payloads: it never
// panics, and what it accepts stays within the answer's bounds.
func FuzzPexAddrs(f *testing.F) {
	id, err := peer.Decode("12D3KooWK58J6TC5GYc5U1qk2sxP3quYv84yBBTWqkVKiPouKpyP")
	if err != nil {
		f.Fatal(err)
	}
	addr := ma.StringCast("/ip4/127.0.0.1/tcp/26656")
	for _, m := range []*p2ppb.PexAddrs{
		{Peers: []*p2ppb.PeerAddr{{ID: id.String(), Addrs: [][]byte{addr.Bytes()}}}},
		{Peers: []*p2ppb.PeerAddr{{ID: "not an id"}}},
		{},
	} {
		fr, err := encodeFrame(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr[uvarintLen(uint64(len(fr))):])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := decodePexAddrs(payload)
		if err != nil {
			return
		}
		if len(out) > maxPexPeers {
			t.Fatalf("accepted %d peers, more than %d", len(out), maxPexPeers)
		}
		for _, ai := range out {
			if len(ai.Addrs) > maxPexAddrs {
				t.Fatalf("accepted %d addresses for one peer, more than %d", len(ai.Addrs), maxPexAddrs)
			}
		}
	})
}
