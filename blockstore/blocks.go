package blockstore

import (
	"crypto/sha256"
	"errors"
	"fmt"

	storepb "github.com/bftnode/bftnode/proto/bftnode/store"
	"github.com/bftnode/bftnode/types"
)

// BlockMeta is what the store knows of a block without loading it.
type BlockMeta struct {
	BlockID   types.BlockID
	BlockSize int64 // bytes of the block's protobuf encoding
	Header    types.Header
	NumTxs    int64
}

func blockMetaFromProto(pb *storepb.BlockMeta) (*BlockMeta, error) {
	id, err := types.BlockIDFromProto(&pb.BlockID)
	if err != nil {
		return nil, err
	}
	h, err := types.HeaderFromProto(&pb.Header)
	if err != nil {
		return nil, err
	}
	return &BlockMeta{BlockID: id, BlockSize: pb.BlockSize, Header: *h, NumTxs: pb.NumTxs}, nil
}

// SaveBlock adds block, with its ID and the node's own seen commit for it,
// to the batch. Its LastCommit becomes the canonical commit of the previous
// height; each tx is indexed by its SHA-256 (a tx committed twice points to
// its latest place). The block must follow the store's height (or, in an
// empty store, may be at any height) and any block saved earlier in the
// batch.
func (b *Batch) SaveBlock(block *types.Block, blockID types.BlockID, seenCommit *types.Commit) error {
	height := block.Header.Height
	if err := checkBlockArgs(block, blockID, seenCommit); err != nil {
		return err
	}
	have := b.last
	if have == 0 {
		have = b.s.Height()
	}
	if err := checkNext(have, height); err != nil {
		return err
	}

	pb := block.ToProto()
	bz, err := pb.Marshal()
	if err != nil {
		return fmt.Errorf("blockstore: marshal block at height %d: %w", height, err)
	}
	if err := b.setRaw(heightKey(kindBlock, height), bz); err != nil {
		return err
	}
	meta := &storepb.BlockMeta{BlockID: blockID.ToProto(), BlockSize: int64(len(bz)), Header: pb.Header, NumTxs: int64(len(block.Data.Txs))}
	if err := b.set(heightKey(kindBlockMeta, height), meta, "block meta"); err != nil {
		return err
	}
	if err := b.setRaw(hashKey(prefixBlockHash, blockID.Hash), encodeHeight(height)); err != nil {
		return err
	}
	if pb.LastCommit != nil {
		if err := b.set(heightKey(kindCommit, height-1), pb.LastCommit, "last commit"); err != nil {
			return err
		}
	}
	if err := b.set(heightKey(kindSeenCommit, height), seenCommit.ToProto(), "seen commit"); err != nil {
		return err
	}
	for i, tx := range block.Data.Txs {
		loc := TxLocation{Height: height, Index: uint32(i)}
		if err := b.setRaw(hashKey(prefixTx, sha256.Sum256(tx)), loc.encode()); err != nil {
			return err
		}
	}
	if b.first == 0 {
		b.first = height
	}
	b.last = height
	return nil
}

// checkBlockArgs checks that SaveBlock's arguments agree with each other.
func checkBlockArgs(block *types.Block, blockID types.BlockID, seen *types.Commit) error {
	height := block.Header.Height
	switch {
	case height <= 0:
		return fmt.Errorf("%w: block height %d", ErrInvalidArgument, height)
	case blockID.Hash != block.Hash():
		return fmt.Errorf("%w: block ID %v is not that of the block at height %d", ErrInvalidArgument, blockID, height)
	case seen == nil || seen.Height != height || seen.BlockID != blockID:
		return fmt.Errorf("%w: seen commit is not for the block at height %d", ErrInvalidArgument, height)
	case block.LastCommit != nil && block.LastCommit.Height != height-1:
		return fmt.Errorf("%w: block at height %d has a last commit for height %d", ErrInvalidArgument, height, block.LastCommit.Height)
	}
	return nil
}

// SaveBlock saves one block in its own synced batch (see Batch.SaveBlock).
func (s *Store) SaveBlock(block *types.Block, blockID types.BlockID, seenCommit *types.Commit) error {
	return s.write(func(b *Batch) error { return b.SaveBlock(block, blockID, seenCommit) })
}

// LoadBlock returns the block at height.
func (s *Store) LoadBlock(height int64) (*types.Block, error) {
	return load(s, heightKey(kindBlock, height), fmt.Sprintf("block at height %d", height), types.BlockFromProto)
}

// LoadBlockByHash returns the block whose header hash is hash.
func (s *Store) LoadBlockByHash(hash types.Hash) (*types.Block, error) {
	height, err := s.heightByHash(hash)
	if err != nil {
		return nil, err
	}
	return s.LoadBlock(height)
}

func (s *Store) heightByHash(hash types.Hash) (int64, error) {
	var height int64
	err := s.get(hashKey(prefixBlockHash, hash), fmt.Sprintf("height of block %X", hash[:]), func(v []byte) (err error) {
		height, err = decodeHeight(v)
		return err
	})
	return height, err
}

// LoadBlockMeta returns the ID, header, size and tx count of the block at
// height, without reading the block.
func (s *Store) LoadBlockMeta(height int64) (*BlockMeta, error) {
	return load(s, heightKey(kindBlockMeta, height), fmt.Sprintf("block meta at height %d", height), blockMetaFromProto)
}

// LoadBlockCommit returns the canonical commit for height: the LastCommit
// of the block at height+1, so there is none yet for the latest block (use
// LoadSeenCommit).
func (s *Store) LoadBlockCommit(height int64) (*types.Commit, error) {
	return load(s, heightKey(kindCommit, height), fmt.Sprintf("commit at height %d", height), types.CommitFromProto)
}

// LoadSeenCommit returns the commit this node saw for the block at height
// when it decided it (it may hold other signatures than the canonical one).
func (s *Store) LoadSeenCommit(height int64) (*types.Commit, error) {
	return load(s, heightKey(kindSeenCommit, height), fmt.Sprintf("seen commit at height %d", height), types.CommitFromProto)
}

// SaveExtendedCommit adds to the batch the seen commit of ec's height with
// its vote extensions, for the proposer of the next height
// (LoadExtendedCommit). Save it with the block it commits.
func (b *Batch) SaveExtendedCommit(ec *types.ExtendedCommit) error {
	if ec == nil || ec.Commit == nil || len(ec.Extensions) != len(ec.Commit.Signatures) {
		return fmt.Errorf("%w: extended commit without one extension entry per signature", ErrInvalidArgument)
	}
	return b.set(heightKey(kindExtendedCommit, ec.Commit.Height), ec.ToProto(), "extended commit")
}

// LoadExtendedCommit returns the seen commit of height with its vote
// extensions, stored only for heights with vote extensions in force.
func (s *Store) LoadExtendedCommit(height int64) (*types.ExtendedCommit, error) {
	return load(s, heightKey(kindExtendedCommit, height), fmt.Sprintf("extended commit at height %d", height), types.ExtendedCommitFromProto)
}

// TxByHash returns where the committed tx with this hash (SHA-256 of its
// bytes) is; ok is false if no committed block holds it. The location
// survives pruning; the block it names may not.
func (s *Store) TxByHash(hash [32]byte) (loc TxLocation, ok bool, err error) {
	err = s.get(hashKey(prefixTx, hash), fmt.Sprintf("location of tx %X", hash[:]), func(v []byte) (err error) {
		loc, err = decodeTxLocation(v)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return TxLocation{}, false, nil
	}
	return loc, err == nil, err
}

// HasTx reports whether a committed block holds the tx with this hash. It
// implements mempool.Committed, which asks for every tx offered, nearly
// all new: the tables' Bloom filters answer most such lookups without
// reading a data block. A read error counts as present: a store that
// cannot be read cannot show that a tx is new, and the mempool must never
// admit a committed tx again.
func (s *Store) HasTx(hash [32]byte) bool {
	found, err := s.txs.has(s.db, hashKey(prefixTx, hash))
	return found || err != nil
}
