package blockstore

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/internal/pebbleopts"
	storepb "github.com/bftnode/bftnode/proto/bftnode/store"
)

// Sentinel errors, wrapped with the height, hash or key concerned.
var (
	ErrNotFound        = errors.New("blockstore: not found")
	ErrCorrupt         = errors.New("blockstore: corrupt value")
	ErrNonContiguous   = errors.New("blockstore: block height not contiguous")
	ErrInvalidArgument = errors.New("blockstore: invalid argument")
	ErrFormat          = errors.New("blockstore: the data directory holds an incompatible store format")
)

// FormatVersion is the on-disk format this code reads and writes, kept
// under its own key. 2: blocks, headers, commits and their hashes are
// CometBFT v0.40.0's. 3: a height's records are keyed by height first (see
// keys.go); Open migrates a format-2 store. Stores written before the key
// existed are format 1.
const FormatVersion = 3

// Options configure Open.
type Options struct {
	// FS is the filesystem the database lives on; nil means the operating
	// system's. Tests use vfs.NewMem().
	FS vfs.FS
	// Logger receives the database engine's messages; nil discards them.
	Logger *slog.Logger
	// Cache is the block cache, maybe shared with other databases; nil
	// gives the store one of its own.
	Cache *pebble.Cache
}

// Store is the block and state store. It is safe for concurrent use; writes
// (batch commits and pruning) are serialized.
type Store struct {
	db *pebble.DB

	writeMu sync.Mutex   // serializes Batch.Commit and PruneBlocks
	txs     txLookup     // HasTx's iterator, dropped by every commit
	base    atomic.Int64 // lowest stored block height, 0 when empty
	height  atomic.Int64 // highest stored block height, 0 when empty
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := pebble.Open(dir, pebbleopts.Options(pebbleopts.Config{FS: opts.FS, Logger: logger, Cache: opts.Cache}))
	if err != nil {
		return nil, fmt.Errorf("blockstore: open %s: %w", dir, err)
	}
	s := &Store{db: db}
	if err := s.checkFormat(dir, logger); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	var st storepb.BlockStoreState
	err = s.get(storeStateKey(), "block store state", st.Unmarshal)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, errors.Join(err, db.Close())
	}
	s.base.Store(st.Base)
	s.height.Store(st.Height)
	return s, nil
}

// checkFormat migrates a format-2 store to FormatVersion, refuses a store
// of another format, and marks a new, empty one with FormatVersion.
func (s *Store) checkFormat(dir string, logger *slog.Logger) error {
	var fv storepb.FormatVersion
	err := s.get(formatKey(), "store format version", fv.Unmarshal)
	switch {
	case err == nil && fv.Version == FormatVersion:
		return nil
	case err == nil && fv.Version == 2:
		return s.migrateFormat2(dir, logger)
	case err == nil:
		return formatError(dir, fv.Version)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	empty, err := s.isEmpty()
	if err != nil {
		return err
	}
	if !empty {
		return formatError(dir, 1)
	}
	return s.setFormat()
}

// setFormat marks the store with FormatVersion.
func (s *Store) setFormat() error {
	return s.write(func(b *Batch) error {
		return b.set(formatKey(), &storepb.FormatVersion{Version: FormatVersion}, "store format version")
	})
}

func formatError(dir string, have uint32) error {
	if have > FormatVersion {
		return fmt.Errorf("%w: %s is in store format %d, written by a newer bftnode; this one reads formats 2 and %d: run the newer bftnode",
			ErrFormat, dir, have, FormatVersion)
	}
	return fmt.Errorf("%w: %s is in store format %d, this bftnode reads formats 2 and %d only (since format 2 blocks, headers and commits are CometBFT v0.40.0's); "+
		"the old chain cannot be read: remove it with `bftnode unsafe-reset-all` (add --keep-sign-state=false when the whole network starts a new chain) and start again",
		ErrFormat, dir, have, FormatVersion)
}

// isEmpty reports whether the database holds no key at all.
func (s *Store) isEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, fmt.Errorf("blockstore: %w", err)
	}
	empty := !it.First()
	return empty, errors.Join(it.Error(), it.Close())
}

// Close closes the database. The Store must not be used afterwards.
func (s *Store) Close() error {
	s.txs.reset()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("blockstore: close: %w", err)
	}
	return nil
}

// Base is the lowest height with a stored block, 0 when there is none.
func (s *Store) Base() int64 { return s.base.Load() }

// Height is the highest height with a stored block, 0 when there is none.
func (s *Store) Height() int64 { return s.height.Load() }

// get looks key up and passes its value to decode, which must not keep it.
// A missing key gives ErrNotFound, a decode failure ErrCorrupt; both name
// what was looked for.
func (s *Store) get(key []byte, what string, decode func([]byte) error) error {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	if err != nil {
		return fmt.Errorf("blockstore: read %s: %w", what, err)
	}
	defer closer.Close()
	if err := decode(v); err != nil {
		return corrupt(what, key, err)
	}
	return nil
}

// corrupt is the error for the value at key, holding what, that did not
// decode.
func corrupt(what string, key []byte, err error) error {
	return fmt.Errorf("%w: %s (key %X): %w", ErrCorrupt, what, key, err)
}

// protoMessage is a generated protobuf message type M, through its pointer.
type protoMessage[M any] interface {
	*M
	Unmarshal([]byte) error
}

// decode unmarshals v as an M and converts it with conv.
func decode[T, M any, PM protoMessage[M]](v []byte, conv func(PM) (T, error)) (T, error) {
	pb := PM(new(M))
	if err := pb.Unmarshal(v); err != nil {
		var zero T
		return zero, err
	}
	return conv(pb)
}

// load reads the protobuf message M at key and converts it with conv.
func load[T, M any, PM protoMessage[M]](s *Store, key []byte, what string, conv func(PM) (T, error)) (T, error) {
	var out T
	err := s.get(key, what, func(v []byte) (err error) {
		out, err = decode(v, conv)
		return err
	})
	return out, err
}

// marshaler is a generated protobuf message.
type marshaler interface{ Marshal() ([]byte, error) }

// Batch gathers writes to commit atomically. Build one with Store.NewBatch,
// add to it with its Save methods, then Commit or Close it; it must not be
// used afterwards. A batch is not safe for concurrent use.
type Batch struct {
	s     *Store
	b     *pebble.Batch
	first int64 // lowest block height saved in this batch, 0 if none
	last  int64 // highest block height saved in this batch, 0 if none
}

// NewBatch starts a batch of writes.
func (s *Store) NewBatch() *Batch {
	return &Batch{s: s, b: s.db.NewBatch()}
}

// set writes the marshalled msg at key.
func (b *Batch) set(key []byte, msg marshaler, what string) error {
	v, err := msg.Marshal()
	if err != nil {
		return fmt.Errorf("blockstore: marshal %s: %w", what, err)
	}
	return b.setRaw(key, v)
}

// setRaw writes v at key.
func (b *Batch) setRaw(key, v []byte) error {
	if err := b.b.Set(key, v, nil); err != nil {
		return fmt.Errorf("blockstore: batch set %X: %w", key, err)
	}
	return nil
}

// Commit writes the batch durably (synced) and atomically, then releases it.
func (b *Batch) Commit() error {
	defer b.Close()
	s := b.s
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	base, height := s.base.Load(), s.height.Load()
	if b.first != 0 {
		if err := checkNext(height, b.first); err != nil {
			return err
		}
		if base == 0 {
			base = b.first
		}
		height = b.last
	}
	return b.commitLocked(base, height)
}

// commitLocked records the stored block range as [base, height] if that
// changes it, writes the batch synced and publishes the new range. The
// caller holds writeMu.
func (b *Batch) commitLocked(base, height int64) error {
	s := b.s
	if base != s.base.Load() || height != s.height.Load() {
		if err := b.set(storeStateKey(), &storepb.BlockStoreState{Base: base, Height: height}, "block store state"); err != nil {
			return err
		}
	}
	// Readers check a height against Base and Height before they load it:
	// a range that shrinks (pruning raises the base, rollback lowers the
	// height) shrinks before its records go, one that grows after they are
	// written, so a height within range is always there to load. After a
	// failed commit, which may still have applied, the range stays shrunk.
	if base > s.base.Load() {
		s.base.Store(base)
	}
	if height < s.height.Load() {
		s.height.Store(height)
	}
	err := b.b.Commit(pebble.Sync)
	s.txs.reset() // either way: a failed sync may still have applied it
	if err != nil {
		return fmt.Errorf("blockstore: commit batch: %w", err)
	}
	s.base.Store(base)
	s.height.Store(height)
	return nil
}

// Close discards whatever the batch holds that was not committed.
func (b *Batch) Close() {
	if b.b != nil {
		_ = b.b.Close() // only fails for a batch already closed, which b.b = nil prevents
		b.b = nil
	}
}

// write runs fill on a new batch and commits it.
func (s *Store) write(fill func(*Batch) error) error {
	b := s.NewBatch()
	if err := fill(b); err != nil {
		b.Close()
		return err
	}
	return b.Commit()
}

// checkNext reports whether a block at height next may follow the highest
// stored height have (0: nothing stored yet, any first height will do).
func checkNext(have, next int64) error {
	if have != 0 && next != have+1 {
		return fmt.Errorf("%w: block at height %d after height %d", ErrNonContiguous, next, have)
	}
	return nil
}
