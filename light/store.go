package light

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/internal/pebbleopts"
	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// Store keeps the verified light blocks, by height, in Pebble. Every block
// in it was verified (or is the one the user trusted to begin with).
type Store struct {
	db *pebble.DB
}

// ErrCorruptStore is wrapped when a stored light block does not decode.
var ErrCorruptStore = errors.New("light store: corrupt light block")

// OpenStore opens (creating if needed) the store in dir; fs nil means the
// operating system's filesystem, tests pass vfs.NewMem().
func OpenStore(dir string, fs vfs.FS, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := pebble.Open(dir, pebbleopts.Options(pebbleopts.Config{FS: fs, Logger: logger}))
	if err != nil {
		return nil, fmt.Errorf("light store: open %s: %w (is another light client using this home directory?)", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

const keyPrefix = 'b'

func storeKey(height int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{keyPrefix}, uint64(height))
}

// Save stores lb, durably.
func (s *Store) Save(lb *LightBlock) error {
	v, err := encodeStored(lb)
	if err != nil {
		return err
	}
	if err := s.db.Set(storeKey(lb.Height()), v, pebble.Sync); err != nil {
		return fmt.Errorf("light store: save height %d: %w", lb.Height(), err)
	}
	return nil
}

// Prune deletes the lowest blocks so that at most keep remain.
func (s *Store) Prune(keep int) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: storeKey(0), UpperBound: []byte{keyPrefix + 1}})
	if err != nil {
		return err
	}
	ok := it.Last()
	for i := 0; ok && i < keep; i++ {
		ok = it.Prev()
	}
	if !ok {
		return errors.Join(it.Error(), it.Close())
	}
	below := binary.BigEndian.Uint64(it.Key()[1:]) + 1
	if err := it.Close(); err != nil {
		return err
	}
	if err := s.db.DeleteRange(storeKey(0), storeKey(int64(below)), pebble.Sync); err != nil {
		return fmt.Errorf("light store: prune below height %d: %w", below, err)
	}
	return nil
}

// LightBlock returns the stored block at height, or nil when there is none.
func (s *Store) LightBlock(height int64) (*LightBlock, error) {
	v, closer, err := s.db.Get(storeKey(height))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("light store: read height %d: %w", height, err)
	}
	defer closer.Close()
	return decodeStored(height, v)
}

// Latest returns the highest stored block, nil when the store is empty.
func (s *Store) Latest() (*LightBlock, error) { return s.edge(1<<63-1, false) }

// Lowest returns the lowest stored block, nil when the store is empty.
func (s *Store) Lowest() (*LightBlock, error) { return s.edge(1<<63-1, true) }

// Below returns the highest stored block under height, nil when there is
// none.
func (s *Store) Below(height int64) (*LightBlock, error) { return s.edge(height, false) }

// edge returns the lowest (first) or highest stored block under height.
func (s *Store) edge(below int64, first bool) (*LightBlock, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: storeKey(0), UpperBound: storeKey(below)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	ok := false
	if first {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	if !ok {
		return nil, it.Error()
	}
	return decodeStored(int64(binary.BigEndian.Uint64(it.Key()[1:])), it.Value())
}

// encodeStored is the stored form of lb: its header, commit and validator
// set as protobuf, each after its length (a uvarint).
func encodeStored(lb *LightBlock) ([]byte, error) {
	var v []byte
	for _, m := range []interface{ Marshal() ([]byte, error) }{lb.Header.ToProto(), lb.Commit.ToProto(), lb.ValidatorSet.ToProto()} {
		b, err := m.Marshal()
		if err != nil {
			return nil, fmt.Errorf("light store: encode height %d: %w", lb.Height(), err)
		}
		v = binary.AppendUvarint(v, uint64(len(b)))
		v = append(v, b...)
	}
	return v, nil
}

func decodeStored(height int64, v []byte) (*LightBlock, error) {
	var parts [3][]byte
	for i := range parts {
		n, k := binary.Uvarint(v)
		if k <= 0 || uint64(len(v)-k) < n {
			return nil, fmt.Errorf("%w at height %d: truncated", ErrCorruptStore, height)
		}
		parts[i], v = v[k:k+int(n)], v[k+int(n):]
	}
	var hpb typespb.Header
	var cpb typespb.Commit
	var vpb typespb.ValidatorSet
	lb := &LightBlock{}
	var err error
	if err = hpb.Unmarshal(parts[0]); err == nil {
		lb.Header, err = types.HeaderFromProto(&hpb)
	}
	if err == nil {
		err = cpb.Unmarshal(parts[1])
	}
	if err == nil {
		lb.Commit, err = types.CommitFromProto(&cpb)
	}
	if err == nil {
		err = vpb.Unmarshal(parts[2])
	}
	if err == nil {
		lb.ValidatorSet, err = types.ValidatorSetFromProto(&vpb)
	}
	if err != nil {
		return nil, fmt.Errorf("%w at height %d: %w", ErrCorruptStore, height, err)
	}
	return lb, nil
}
