package pebbleopts_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/internal/pebbleopts"
)

// openFilled opens an in-memory database with the shared options, writes n
// random 32-byte keys with values of 200 random letters and digits, and
// compacts them to the lowest level.
func openFilled(t *testing.T, n int, opts *pebble.Options) *pebble.DB {
	t.Helper()
	db, err := pebble.Open("db", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Two flushes of interleaved keys make two overlapping L0 tables, so
	// the compaction below rewrites them into a lower level (a lone table
	// would only be moved down, keeping its L0 compression).
	rng := rand.New(rand.NewPCG(1, 2))
	for half := range 2 {
		b := db.NewBatch()
		for i := half; i < n; i += 2 {
			k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
			if err := b.Set(k[:], randomText(rng, 200), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Compact(context.Background(), []byte{0}, []byte{0xFF, 0xFF}, false); err != nil {
		t.Fatal(err)
	}
	return db
}

// randomText returns n random letters and digits.
func randomText(rng *rand.Rand, n int) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

// has looks key up with a fresh iterator from NewHasIter, as the block
// store's first lookup after a commit does.
func has(t *testing.T, db *pebble.DB, key []byte) (bool, error) {
	t.Helper()
	it, err := pebbleopts.NewHasIter(db)
	if err != nil {
		return false, err
	}
	defer it.Close()
	return pebbleopts.SeekHas(it, key)
}

// Lookups of absent keys are answered by the tables' Bloom filters, without
// reading a data block.
func TestBloomFilterAnswersAbsentKeys(t *testing.T) {
	db := openFilled(t, 5000, pebbleopts.Options(pebbleopts.Config{FS: vfs.NewMem()}))
	const lookups = 1000
	for i := range lookups {
		k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(1e9+i)))
		if ok, err := has(t, db, k[:]); ok || err != nil {
			t.Fatalf("absent key %d: found %v, error %v", i, ok, err)
		}
	}
	for i := range 10 {
		k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		if ok, err := has(t, db, k[:]); !ok || err != nil {
			t.Fatalf("present key %d: found %v, error %v", i, ok, err)
		}
		if ok, err := has(t, db, k[:31]); ok || err != nil {
			t.Fatalf("prefix of present key %d: found %v, error %v", i, ok, err)
		}
	}
	m := db.Metrics().Filter
	if m.Hits < lookups*9/10 {
		t.Errorf("filter hits %d of %d absent lookups (misses %d), want nearly all", m.Hits, lookups, m.Misses)
	}
}

// Values of random letters and digits, which Snappy cannot shrink (no
// repeats), take less room than uncompressed once compacted below L0:
// zstd's entropy coding spends about 6 bits on each 8-bit character (the
// random keys stay as they are).
func TestTablesAreEntropyCoded(t *testing.T) {
	size := func(opts *pebble.Options) int64 {
		db := openFilled(t, 5000, opts)
		var n int64
		for _, l := range db.Metrics().Levels {
			n += l.TablesSize
		}
		return n
	}
	zstd := size(pebbleopts.Options(pebbleopts.Config{FS: vfs.NewMem()}))
	plain := pebbleopts.Options(pebbleopts.Config{FS: vfs.NewMem()})
	for i := range plain.Levels {
		plain.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	if uncompressed := size(plain); zstd > uncompressed*90/100 {
		t.Errorf("tables hold %d bytes, %d uncompressed; want under 90%%", zstd, uncompressed)
	}
}
