package p2p

import (
	"bytes"
	"fmt"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// partSet holds the parts of one proposed block: complete when built from
// a block we have, filled part by part (each proof checked) when received.
type partSet struct {
	header types.PartSetHeader
	parts  []*typespb.Part // nil until received
	count  int
}

// partSetFromBlock splits block into parts with proofs. The part set
// header must be the one its BlockID names.
func partSetFromBlock(block *types.Block, want types.PartSetHeader) (*partSet, error) {
	raw, psh, err := types.BlockParts(block, types.BlockPartSizeBytes)
	if err != nil {
		return nil, err
	}
	if psh != want {
		return nil, fmt.Errorf("%w: block splits into %d parts with root %X, proposal names %d with root %X",
			ErrBadPart, psh.Total, psh.Hash[:6], want.Total, want.Hash[:6])
	}
	_, aunts := types.MerkleProofs(raw)
	ps := &partSet{header: psh, parts: make([]*typespb.Part, len(raw)), count: len(raw)}
	for i, b := range raw {
		lh := types.MerkleLeafHash(b)
		pf := typespb.Proof{Total: int64(len(raw)), Index: int64(i), LeafHash: lh[:]}
		for _, a := range aunts[i] {
			pf.Aunts = append(pf.Aunts, append([]byte(nil), a[:]...))
		}
		ps.parts[i] = &typespb.Part{Index: uint32(i), Bytes: b, Proof: pf}
	}
	return ps, nil
}

// newPartSet starts an empty part set for header (total checked by the
// caller against the configured maximum).
func newPartSet(header types.PartSetHeader) *partSet {
	return &partSet{header: header, parts: make([]*typespb.Part, header.Total)}
}

func (ps *partSet) complete() bool { return ps.count == len(ps.parts) }

func (ps *partSet) has(index uint32) bool {
	return int(index) < len(ps.parts) && ps.parts[index] != nil
}

// add checks part against the header and stores it. It returns false with
// no error for a copy of a part already held.
func (ps *partSet) add(p *typespb.Part) (bool, error) {
	if p == nil {
		return false, fmt.Errorf("%w: missing", ErrBadPart)
	}
	if int(p.Index) >= len(ps.parts) {
		return false, fmt.Errorf("%w: index %d of %d", ErrBadPart, p.Index, len(ps.parts))
	}
	if held := ps.parts[p.Index]; held != nil {
		if !bytes.Equal(held.Bytes, p.Bytes) {
			// It cannot prove into the root the held one proved into.
			return false, fmt.Errorf("%w: part %d differs from the one held", ErrBadPart, p.Index)
		}
		return false, nil
	}
	if len(p.Bytes) == 0 || len(p.Bytes) > maxPartBytes {
		return false, fmt.Errorf("%w: %d bytes", ErrBadPart, len(p.Bytes))
	}
	if p.Proof.Total != int64(len(ps.parts)) || p.Proof.Index != int64(p.Index) {
		return false, fmt.Errorf("%w: proof for %d/%d, part %d/%d", ErrBadPart, p.Proof.Index, p.Proof.Total, p.Index, len(ps.parts))
	}
	if len(p.Proof.Aunts) > 64 {
		return false, fmt.Errorf("%w: %d aunts", ErrBadPart, len(p.Proof.Aunts))
	}
	aunts := make([]types.Hash, len(p.Proof.Aunts))
	for i, a := range p.Proof.Aunts {
		if len(a) != len(types.Hash{}) {
			return false, fmt.Errorf("%w: aunt of %d bytes", ErrBadPart, len(a))
		}
		copy(aunts[i][:], a)
	}
	root, ok := types.MerkleRootFromAunts(int64(p.Index), int64(len(ps.parts)), types.MerkleLeafHash(p.Bytes), aunts)
	if !ok || root != ps.header.Hash {
		return false, fmt.Errorf("%w: part %d does not prove into the part set root", ErrBadPart, p.Index)
	}
	ps.parts[p.Index] = p
	ps.count++
	return true, nil
}

// block reassembles and decodes the complete block.
func (ps *partSet) block() (*types.Block, error) {
	var n int
	for _, p := range ps.parts {
		n += len(p.Bytes)
	}
	bz := make([]byte, 0, n)
	for _, p := range ps.parts {
		bz = append(bz, p.Bytes...)
	}
	var pb typespb.Block
	if err := pb.Unmarshal(bz); err != nil {
		return nil, fmt.Errorf("%w: block does not decode: %w", ErrBadPart, err)
	}
	return types.BlockFromProto(&pb)
}
