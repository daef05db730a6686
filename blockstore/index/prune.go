package index

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bftnode/bftnode/eventbus"
)

// Prune deletes the records and postings of the blocks and txs below
// retainHeight, and returns how many tx records it deleted. A pointer
// record's attributes are read from the block store, so the node prunes the
// index before the block store; the deletions are flushed to disk before
// Prune returns, so a crash cannot bring back records whose blocks are
// gone. A tx whose block or result can no longer be read loses its record
// but leaves its postings, which searches skip (they find no record).
func (ix *Index) Prune(retainHeight int64) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	b := ix.db.NewBatch()
	defer b.Close()
	txs, err := ix.deleteTxPostings(b, retainHeight)
	if err != nil {
		return 0, err
	}
	if err := deleteBlockPostings(ix.db, b, retainHeight); err != nil {
		return 0, err
	}
	for _, prefix := range []byte{prefixTx, prefixBlock} {
		if err := b.DeleteRange([]byte{prefix}, concat([]byte{prefix}, position(retainHeight, 0)), nil); err != nil {
			return 0, fmt.Errorf("%w: prune: %w", ErrIndex, err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return 0, fmt.Errorf("%w: prune below %d: %w", ErrIndex, retainHeight, err)
	}
	if err := ix.db.Flush(); err != nil {
		return 0, fmt.Errorf("%w: prune below %d: flush: %w", ErrIndex, retainHeight, err)
	}
	return txs, nil
}

// recordsBelow calls fn with the key and value of every record of prefix
// below height.
func recordsBelow(r pebble.Reader, prefix byte, height int64, fn func(key, rec []byte) error) error {
	iter, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: concat([]byte{prefix}, position(height, 0))})
	if err != nil {
		return fmt.Errorf("%w: prune: %w", ErrIndex, err)
	}
	for iter.First(); iter.Valid(); iter.Next() {
		if err := fn(iter.Key(), iter.Value()); err != nil {
			return errors.Join(err, iter.Close())
		}
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		return fmt.Errorf("%w: prune: %w", ErrIndex, err)
	}
	return nil
}

// deleteTxPostings adds to b the deletion of the postings and hash entries
// of the txs below height, and returns how many txs it found.
func (ix *Index) deleteTxPostings(b *pebble.Batch, height int64) (int, error) {
	r := ix.reader()
	n := 0
	err := recordsBelow(ix.db, prefixTx, height, func(key, rec []byte) error {
		n++
		pos, err := keyPos(key)
		if err != nil {
			return err
		}
		tr, _, err := r.read(pos, rec, false)
		if err != nil {
			return nil // its postings stay behind, unread (see Prune)
		}
		var keys [][]byte
		if tr.Result != nil {
			keys = postingKeys(prefixTxAttr, prefixTxNum, indexedAttributes(nil, tr.Result.Events, eventbus.KeyTxHash, eventbus.KeyTxHeight), pos)
		}
		if len(rec) != 1 { // a copy: the index keeps its hash entry
			hash := tr.Hash()
			keys = append(keys, concat([]byte{prefixTxHash}, hash[:], pos))
		}
		for _, k := range keys {
			if err := b.Delete(k, nil); err != nil {
				return fmt.Errorf("%w: prune: %w", ErrIndex, err)
			}
		}
		return nil
	})
	return n, err
}

// deleteBlockPostings adds to b the deletion of the postings of the blocks
// below height.
func deleteBlockPostings(r pebble.Reader, b *pebble.Batch, height int64) error {
	return recordsBelow(r, prefixBlock, height, func(key, rec []byte) error {
		pos, err := keyPos(key)
		if err != nil {
			return err
		}
		m := map[string][]string{}
		if err := decodeAttrs(rec, m); err != nil {
			return err
		}
		var attrs []attr
		for k, vs := range m {
			for _, v := range vs {
				attrs = append(attrs, attr{key: k, value: v})
			}
		}
		for _, k := range postingKeys(prefixBlockAttr, prefixBlockNum, attrs, pos) {
			if err := b.Delete(k, nil); err != nil {
				return fmt.Errorf("%w: prune: %w", ErrIndex, err)
			}
		}
		return nil
	})
}
