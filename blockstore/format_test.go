package blockstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// reopenAfter opens a new store on a fresh in-memory backend, lets edit
// change it, closes it and opens it again, returning the second Open's
// store (closed when the test ends) and error.
func reopenAfter(t *testing.T, edit func(s *Store)) (*Store, error) {
	t.Helper()
	be := backends(t)[0]
	s, err := Open(be.dir, be.opts)
	if err != nil {
		t.Fatal(err)
	}
	edit(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(be.dir, be.opts)
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	return s, err
}

// rawSet writes v at key, bypassing the store.
func rawSet(t *testing.T, s *Store, key, v []byte) {
	t.Helper()
	if err := s.db.Set(key, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// TestFormatVersion: a new store is marked with format 3 and reopens; a
// store without the mark but with data (written by an older bftnode) is
// refused with an error that says to reset it, and one of a newer format
// with an error that says to run the newer bftnode.
func TestFormatVersion(t *testing.T) {
	s, err := reopenAfter(t, func(*Store) {})
	if err != nil {
		t.Fatalf("a new store does not reopen: %v", err)
	}
	if v, closer, err := s.db.Get(formatKey()); err != nil || !bytes.Equal(v, []byte{0x08, 0x03}) {
		t.Fatalf("format mark %X, %v; want version 3", v, err)
	} else {
		closer.Close()
	}
	for name, tc := range map[string]struct {
		edit func(s *Store)
		want string
	}{
		"format 1 (no mark)": {func(s *Store) {
			rawSet(t, s, storeStateKey(), []byte{0x08, 0x01, 0x10, 0x05})
			if err := s.db.Delete(formatKey(), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}, "bftnode unsafe-reset-all"},
		"format 4": {func(s *Store) { rawSet(t, s, formatKey(), []byte{0x08, 0x04}) }, "run the newer bftnode"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := reopenAfter(t, tc.edit)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrFormat that says %q", err, tc.want)
			}
		})
	}
}

// format3Key is the documented format-3 key of a height's record:
// 0x00 ‖ big-endian height ‖ kind.
func format3Key(height int64, kind byte) []byte {
	return append(binary.BigEndian.AppendUint64([]byte{0x00}, uint64(height)), kind)
}

// TestKeyLayoutIsHeightFirst: every record of a height is under 0x00 ‖
// height ‖ kind, so one height's records are adjacent and heights are in
// order, and every other key (hash indexes, singletons) sorts after all of
// them.
func TestKeyLayoutIsHeightFirst(t *testing.T) {
	s := backends(t)[0].open(t)
	_, blocks := stateChain(t, s, 4, nil)
	for _, b := range blocks {
		h := b.block.Header.Height
		for kind, what := range map[byte]string{0x01: "block", 0x02: "meta", 0x04: "seen commit", 0x11: "validators", 0x12: "FinalizeBlock response", 0x13: "consensus params"} {
			if err := loadRaw(s, format3Key(h, kind)); err != nil {
				t.Errorf("%s of height %d not at its format-3 key: %v", what, h, err)
			}
		}
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	pastHeights := false
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		switch {
		case k[0] == 0x00 && !pastHeights:
			if len(k) != 10 {
				t.Errorf("height key %X is not 10 bytes", k)
			}
		case k[0] == 0x00:
			t.Errorf("height key %X after other keys", k)
		default:
			pastHeights = true
		}
	}
}

// toFormat2 rewrites the height records of s at heights of at least from
// the way format 2 kept them (kind ‖ height), adds a legacy tx result at
// each such height, and marks the store as format 2: what a format-2
// store, or one whose migration stopped half way, holds.
func toFormat2(t *testing.T, s *Store, from int64) {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: format3Key(from, 0), UpperBound: []byte{0x01}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.db.NewBatch()
	heights := map[int64]bool{}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		h := int64(binary.BigEndian.Uint64(k[1:9]))
		heights[h] = true
		old := binary.BigEndian.AppendUint64([]byte{k[9]}, uint64(h))
		if err := errors.Join(b.Set(old, it.Value(), nil), b.Delete(k, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		t.Fatal(err)
	}
	for h := range heights {
		if err := b.Set(binary.BigEndian.AppendUint64([]byte{0x05}, uint64(h)), []byte{0x0A, 0x01, 0x01}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(b.Set(formatKey(), []byte{0x08, 0x02}, nil), b.Commit(pebble.Sync)); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateFormat2: Open rewrites a format-2 store, also one whose
// migration stopped half way, in format 3: every block, commit, state,
// validator set, parameter set and FinalizeBlock response reads as saved,
// no format-2 key is left, the legacy tx results are gone, and the store
// prunes, rolls back and takes new blocks.
func TestMigrateFormat2(t *testing.T) {
	for name, from := range map[string]int64{"whole store": 0, "half migrated": 4} {
		t.Run(name, func(t *testing.T) {
			var states []*State
			var blocks []saved
			var records int
			s, err := reopenAfter(t, func(s *Store) {
				states, blocks = stateChain(t, s, 6, map[int64]bool{3: true})
				records = countKeys(t, s, []byte{0x00}, []byte{0x01})
				toFormat2(t, s, from)
			})
			if err != nil {
				t.Fatal(err)
			}
			if v, closer, err := s.db.Get(formatKey()); err != nil || !bytes.Equal(v, []byte{0x08, 0x03}) {
				t.Fatalf("format mark %X, %v after migration; want version 3", v, err)
			} else {
				closer.Close()
			}
			if n := countKeys(t, s, []byte{0x00}, []byte{0x01}); n != records {
				t.Errorf("%d height records after migration, %d before", n, records)
			}
			if n := countKeys(t, s, []byte{0x01}, []byte{0x06}) + countKeys(t, s, []byte{0x11}, []byte{0x14}); n != 0 {
				t.Errorf("%d format-2 keys (legacy tx results among them) left", n)
			}
			checkBlocks(t, s, blocks, 1)
			checkState(t, s, states[6])
			for h := int64(1); h <= 6; h++ {
				vals, err := s.LoadValidators(h)
				if err != nil || vals.Hash() != states[h-1].Validators.Hash() {
					t.Errorf("validators of height %d: %v", h, err)
				}
				if resp, err := s.LoadFinalizeBlockResponse(h); err != nil || !reflect.DeepEqual(resp, []byte{byte(h)}) {
					t.Errorf("FinalizeBlock response of height %d: %X, %v", h, resp, err)
				}
				if p, err := s.LoadConsensusParams(h); err != nil || !reflect.DeepEqual(p, states[h-1].ConsensusParams) {
					t.Errorf("consensus params of height %d: %+v, %v", h, p, err)
				}
			}
			if h, err := s.Rollback(true); err != nil || h != 5 {
				t.Fatalf("Rollback after migration = %d, %v", h, err)
			}
			checkState(t, s, states[5])
			checkBlockDeleted(t, s, blocks[5])
			if _, err := s.PruneBlocks(3); err != nil {
				t.Fatal(err)
			}
			checkBlocks(t, s, blocks[2:5], 3)
			if err := s.SaveDecided(blocks[5].block, blocks[5].id, blocks[5].seen, nil, []byte{6}, states[6]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// countKeys counts the keys of s in [lower, upper).
func countKeys(t *testing.T, s *Store, lower, upper []byte) int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		t.Fatal(err)
	}
	return n
}
