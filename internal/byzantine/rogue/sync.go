package rogue

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// Block sync behaviours: the rogue's status advertises blocks it then
// serves badly, or it sends responses nobody asked for.

// forgedTxBytes is the size of the one tx in each forged block.
const forgedTxBytes = 256 << 10

// servesSync reports whether the behaviour answers block requests.
func (f *flooder) servesSync() bool {
	switch f.b {
	case SyncMissing, SyncWrongHeights, SyncGarbage, SyncForgedCommits:
		return true
	}
	return false
}

// answerSync answers one block request as the behaviour says, a frame
// per requested height.
func (f *flooder) answerSync(s network.Stream, sent *atomic.Uint64) {
	defer func() { _ = s.Close() }()
	buf := make([]byte, 64)
	n, _ := s.Read(buf)
	var req p2ppb.BlockRequest
	l, k := binary.Uvarint(buf[:n])
	if k <= 0 || int(l) > n-k || req.Unmarshal(buf[k:k+int(l)]) != nil {
		return
	}
	// Its own random source: handlers run beside the flooding session.
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	for h := req.FromHeight; h <= req.ToHeight; h++ {
		var fr []byte
		switch f.b {
		case SyncMissing:
			fr = frame(&p2ppb.BlockResponse{Height: h, Missing: true})
		case SyncWrongHeights:
			fr = frame(f.forgedResponse(rnd, h+1+rnd.Int64N(100)))
		case SyncGarbage:
			junk := randBytes(rnd, 200)
			junk[0] = 0xff // an invalid field tag: never decodes
			fr = append(binary.AppendUvarint(nil, uint64(len(junk))), junk...)
		case SyncForgedCommits:
			fr = frame(f.forgedResponse(rnd, h))
		}
		if f.write(s, sent, fr) != nil {
			return
		}
	}
}

// forgedResponse is a well-formed block of height h, with one tx of
// forgedTxBytes, and a commit for it whose four signatures are random.
func (f *flooder) forgedResponse(rnd *rand.Rand, h int64) *p2ppb.BlockResponse {
	now := time.Now().UTC()
	b := &types.Block{
		Header: types.Header{Version: types.Version{Block: types.BlockProtocol}, ChainID: f.tgt.ChainID, Height: h, Time: now},
		Data:   types.Data{Txs: [][]byte{randBytes(rnd, forgedTxBytes)}},
	}
	b.FillHeader()
	c := &types.Commit{Height: h, BlockID: types.BlockID{Hash: b.Hash()}}
	if id, err := types.MakeBlockID(b); err == nil {
		c.BlockID = id
	}
	for range 4 {
		var addr types.Address
		copy(addr[:], randBytes(rnd, len(addr)))
		c.Signatures = append(c.Signatures, types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: addr, Timestamp: now, Signature: randBytes(rnd, 64)})
	}
	return &p2ppb.BlockResponse{Height: h, Block: b.ToProto(), Commit: c.ToProto()}
}
