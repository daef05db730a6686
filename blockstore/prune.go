package blockstore

import "fmt"

// PruneBlocks deletes everything stored per height below retainHeight:
// blocks, metas, canonical and seen commits, hash index entries,
// FinalizeBlock responses and consensus parameters, and the
// validator sets below retainHeight-1 (the set of retainHeight-1 signed the
// last commit of the lowest block kept, which checking or replaying that
// block needs). retainHeight may not exceed the store's height. It returns
// how many blocks it deleted. The tx locations ([Store.HasTx]) are kept.
//
// The deletions are gathered without holding up the blocks being saved
// meanwhile (nothing writes below the store's height but pruning and
// rollback, which never reaches that low); only their commit is
// serialized with them. Two concurrent calls: the second fails.
func (s *Store) PruneBlocks(retainHeight int64) (uint64, error) {
	base, height := s.base.Load(), s.height.Load()
	if retainHeight <= 0 || retainHeight > height {
		return 0, fmt.Errorf("%w: retain height %d outside 1..%d", ErrInvalidArgument, retainHeight, height)
	}
	if retainHeight <= base {
		return 0, nil
	}

	b := s.NewBatch()
	defer b.Close()
	if err := b.deleteHashIndex(base, retainHeight); err != nil {
		return 0, err
	}
	// From height 0: commits start at base-1 (block base's LastCommit),
	// state records at the initial height. The validator set of
	// retainHeight-1 stays, its other records go.
	if err := b.b.DeleteRange(heightsFrom(0), heightsFrom(retainHeight-1), nil); err != nil {
		return 0, fmt.Errorf("blockstore: prune: %w", err)
	}
	for _, kind := range heightKinds {
		if kind == kindValidators {
			continue
		}
		if err := b.b.Delete(heightKey(kind, retainHeight-1), nil); err != nil {
			return 0, fmt.Errorf("blockstore: prune: %w", err)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.base.Load() != base {
		return 0, fmt.Errorf("%w: the store was pruned meanwhile (base %d, was %d)", ErrInvalidArgument, s.base.Load(), base)
	}
	if err := b.commitLocked(retainHeight, s.height.Load()); err != nil {
		return 0, err
	}
	return uint64(retainHeight - base), nil
}

// deleteHashIndex adds to the batch the deletion of the hash index entries
// of the blocks in [from, to), whose hashes it reads from their metas (one
// lookup each: an iteration would read the blocks stored between them).
func (b *Batch) deleteHashIndex(from, to int64) error {
	for h := from; h < to; h++ {
		meta, err := b.s.LoadBlockMeta(h)
		if err != nil {
			return fmt.Errorf("blockstore: prune: %w", err)
		}
		if err := b.b.Delete(hashKey(prefixBlockHash, meta.BlockID.Hash), nil); err != nil {
			return fmt.Errorf("blockstore: prune: %w", err)
		}
	}
	return nil
}
