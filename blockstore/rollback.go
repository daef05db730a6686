package blockstore

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrCannotRollback means the store holds nothing Rollback can undo: no
// state, no block before the latest one, or a state already rolled back.
var ErrCannotRollback = errors.New("blockstore: cannot roll back")

// Rollback undoes the execution of the latest block, for an operator whose
// application disagreed with the chain at that height. The state after the
// latest block H becomes the state after H-1, rebuilt from what the store
// holds: the last block ID, app hash and last results hash from block H's
// header (they describe H-1), the last block time from block H-1, the
// validator sets of heights H-1, H and H+1 from the sets stored by height.
// Block H stays, and the engine executes it again on the next start;
// with hard, block H is deleted too (with its hash index, tx index
// entries, FinalizeBlock response and seen commit), and the
// node fetches it again. It returns the new state height, H-1.
//
// After a soft rollback (state at H-1, block H stored and not executed),
// a hard one only deletes block H; a second soft one is refused.
// Everything is written in one synced batch. The caller must have stopped
// the node.
func (s *Store) Rollback(hard bool) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, err := s.LoadState()
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("%w: the store has no state (the node never started)", ErrCannotRollback)
	}
	if err != nil {
		return 0, err
	}
	base, height := s.base.Load(), s.height.Load()
	b := s.NewBatch()
	defer b.Close()
	switch {
	case height == 0 || height < st.InitialHeight:
		return 0, fmt.Errorf("%w: the store holds no block", ErrCannotRollback)
	case st.LastBlockHeight == height-1:
		if !hard {
			return 0, fmt.Errorf("%w: the state is at height %d and block %d is stored but not executed yet "+
				"(rolled back already); pass --hard to also delete block %d", ErrCannotRollback, st.LastBlockHeight, height, height)
		}
	case st.LastBlockHeight != height:
		return 0, fmt.Errorf("%w: the state is at height %d but the blocks end at %d", ErrCannotRollback, st.LastBlockHeight, height)
	case height-1 < st.InitialHeight:
		return 0, fmt.Errorf("%w: height %d is the chain's first block; reset the node instead", ErrCannotRollback, height)
	case height-1 < base:
		return 0, fmt.Errorf("%w: block %d was pruned", ErrCannotRollback, height-1)
	default:
		prev, err := s.stateBefore(st)
		if err != nil {
			return 0, err
		}
		if err := b.SaveState(prev); err != nil {
			return 0, err
		}
		// The state after H saved the set of height H+2; the state after
		// H-1 knows no further than H+1.
		if err := b.b.Delete(heightKey(kindValidators, height+2), nil); err != nil {
			return 0, fmt.Errorf("blockstore: rollback: %w", err)
		}
	}
	newHeight := height
	if hard {
		if base == height {
			return 0, fmt.Errorf("%w: block %d is the only stored block", ErrCannotRollback, height)
		}
		if err := b.deleteLatestBlock(height); err != nil {
			return 0, err
		}
		newHeight = height - 1
	}
	if err := b.commitLocked(base, newHeight); err != nil {
		return 0, err
	}
	return height - 1, nil
}

// stateBefore rebuilds the state after block st.LastBlockHeight-1 from the
// store.
func (s *Store) stateBefore(st *State) (*State, error) {
	h := st.LastBlockHeight
	meta, err := s.LoadBlockMeta(h)
	if err != nil {
		return nil, err
	}
	prevMeta, err := s.LoadBlockMeta(h - 1)
	if err != nil {
		return nil, err
	}
	prev := *st
	prev.LastBlockHeight = h - 1
	prev.LastBlockID = meta.Header.LastBlockID
	prev.LastBlockTime = prevMeta.Header.Time
	prev.AppHash = append([]byte(nil), meta.Header.AppHash...)
	prev.LastResultsHash = meta.Header.LastResultsHash
	if prev.LastValidators, err = s.LoadValidators(h - 1); err != nil {
		return nil, err
	}
	if prev.Validators, err = s.LoadValidators(h); err != nil {
		return nil, err
	}
	if prev.NextValidators, err = s.LoadValidators(h + 1); err != nil {
		return nil, err
	}
	if prevMeta.BlockID != meta.Header.LastBlockID {
		return nil, fmt.Errorf("%w: block %d does not link to the stored block %d", ErrCorrupt, h, h-1)
	}
	if meta.Header.ValidatorsHash != prev.Validators.Hash() || meta.Header.NextValidatorsHash != prev.NextValidators.Hash() {
		return nil, fmt.Errorf("%w: the stored validator sets of heights %d and %d are not those block %d names", ErrCorrupt, h, h+1, h)
	}
	if st.LastHeightValidatorsChanged == h+2 {
		// Block h changed the set; find the change before it.
		if prev.LastHeightValidatorsChanged, err = s.lastValidatorChange(st.InitialHeight, h+1); err != nil {
			return nil, err
		}
	}
	return &prev, nil
}

// lastValidatorChange returns the highest height in (initial, upTo] whose
// validator set differs from the height before's, or 0 if none does (the
// genesis state's value).
func (s *Store) lastValidatorChange(initial, upTo int64) (int64, error) {
	later, err := s.LoadValidators(upTo)
	if err != nil {
		return 0, err
	}
	for h := upTo; h > initial; h-- {
		earlier, err := s.LoadValidators(h - 1)
		if errors.Is(err, ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if earlier.Hash() != later.Hash() {
			return h, nil
		}
		later = earlier
	}
	return 0, nil
}

// deleteLatestBlock adds to the batch the deletion of block height, the
// latest, and of everything saved with it. The canonical commit of height-1
// (block height's LastCommit) is kept, and the seen commit of height-1
// restored from it if missing.
func (b *Batch) deleteLatestBlock(height int64) error {
	s := b.s
	block, err := s.LoadBlock(height)
	if err != nil {
		return err
	}
	meta, err := s.LoadBlockMeta(height)
	if err != nil {
		return err
	}
	_, err = s.LoadSeenCommit(height - 1)
	switch {
	case errors.Is(err, ErrNotFound) && block.LastCommit != nil:
		if err := b.set(heightKey(kindSeenCommit, height-1), block.LastCommit.ToProto(), "seen commit"); err != nil {
			return err
		}
	case err != nil && !errors.Is(err, ErrNotFound):
		return err
	}
	for i, tx := range block.Data.Txs {
		hash := sha256.Sum256(tx)
		loc, ok, err := s.TxByHash(hash)
		if err != nil {
			return err
		}
		// A tx also committed earlier points here, its latest place; its
		// earlier place is not recorded, so the entry goes with the block.
		if ok && loc.Height == height && loc.Index == uint32(i) {
			if err := b.b.Delete(hashKey(prefixTx, hash), nil); err != nil {
				return fmt.Errorf("blockstore: rollback: %w", err)
			}
		}
	}
	keys := [][]byte{
		hashKey(prefixBlockHash, meta.BlockID.Hash),
		heightKey(kindBlock, height),
		heightKey(kindBlockMeta, height),
		heightKey(kindSeenCommit, height),
		heightKey(kindExtendedCommit, height),
		heightKey(kindFinalizeResponse, height),
	}
	for _, k := range keys {
		if err := b.b.Delete(k, nil); err != nil {
			return fmt.Errorf("blockstore: rollback: %w", err)
		}
	}
	return nil
}
