package blockstore

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// format2TxResults is the prefix of format 2's legacy tx results (height →
// bftnode.store.TxResults), written by earlier versions and read by none:
// the migration drops them.
const format2TxResults byte = 0x05

// migrateBatchBytes is how much one batch of the migration gathers before
// it is committed.
const migrateBatchBytes = 16 << 20

// migrateFormat2 rewrites a format-2 store in format 3: the record of
// each kind at each height moves from kind ‖ height to prefixHeight ‖
// height ‖ kind (format 2's prefixes are format 3's kinds); legacy tx
// results are dropped; hash indexes and singletons stay as they are. Each
// batch both writes records at their new keys and deletes the old keys, so
// a migration that stops half way (a crash, a full disk) leaves every
// record readable at one of its keys and goes on at the next Open; the
// format mark changes last.
func (s *Store) migrateFormat2(dir string, logger *slog.Logger) error {
	logger.Info("migrating the block store from format 2 to 3 (records keyed by height first): it rewrites the store once, which takes a while for a long chain", "dir", dir)
	moved := 0
	for _, kind := range append([]byte{format2TxResults}, heightKinds...) {
		n, err := s.migrateKind(kind)
		if err != nil {
			return fmt.Errorf("blockstore: migrate %s from format 2 to 3: %w; the next start goes on with it", dir, err)
		}
		moved += n
		logger.Info("block store migration: kind done (legacy tx results, 0x05, are dropped)", "kind", fmt.Sprintf("%#02x", kind), "records", n)
	}
	if err := s.setFormat(); err != nil {
		return err
	}
	logger.Info("migrated the block store to format 3", "dir", dir, "records", moved)
	return nil
}

// migrateKind moves the format-2 records of kind to their format-3 keys
// (the legacy tx results, to none) and returns how many it found.
func (s *Store) migrateKind(kind byte) (int, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kind}, UpperBound: []byte{kind + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	var first []byte // the lowest old key in b
	commit := func(last []byte) error {
		// Delete the old keys [first, last] in one range.
		if err := b.DeleteRange(first, append(last, 0), nil); err != nil {
			return err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
		b.Reset()
		first = nil
		return nil
	}
	var last []byte
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 9 {
			return n, fmt.Errorf("%w: key %X is not a format-2 height key", ErrCorrupt, k)
		}
		n++
		last = append(last[:0], k...)
		if first == nil {
			first = append([]byte(nil), k...)
		}
		if kind != format2TxResults {
			v, err := it.ValueAndErr()
			if err != nil {
				return n, err
			}
			if err := b.Set(heightKey(kind, int64(binary.BigEndian.Uint64(k[1:]))), v, nil); err != nil {
				return n, err
			}
		}
		if b.Len() >= migrateBatchBytes {
			if err := commit(last); err != nil {
				return n, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return n, err
	}
	if first != nil {
		return n, commit(last)
	}
	return n, nil
}
