package pebbleopts_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
		"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/internal/pebbleopts"
)

// openFilled opens an in-memory database with the shared options, writes n
// random 32-byte keys and compacts them to the lowest level.
func openFilled(t *testing.T, n int) *pebble.DB {
	t.Helper()
	db, err := pebble.Open("db", pebbleopts.Options(pebbleopts.Config{FS: vfs.NewMem()}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	b := db.NewBatch()
	for i := range n {
		k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		if err := b.Set(k[:], []byte("a value that zstd and snappy can both shrink, a value that zstd and snappy can both shrink"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(context.Background(), []byte{0}, []byte{0xFF, 0xFF}, false); err != nil {
		t.Fatal(err)
	}
	return db
}

// Lookups of absent keys are answered by the tables' Bloom filters, without
// reading a data block.
func TestBloomFilterAnswersAbsentKeys(t *testing.T) {
	db := openFilled(t, 5000)
	const lookups = 1000
	for i := range lookups {
		k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(1e9+i)))
		if ok, err := pebbleopts.Has(db, k[:]); ok || err != nil {
			t.Fatalf("absent key %d: found %v, error %v", i, ok, err)
		}
	}
	for i := range 10 {
		k := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		if ok, err := pebbleopts.Has(db, k[:]); !ok || err != nil {
			t.Fatalf("present key %d: found %v, error %v", i, ok, err)
		}
		if ok, err := pebbleopts.Has(db, k[:31]); ok || err != nil {
			t.Fatalf("prefix of present key %d: found %v, error %v", i, ok, err)
		}
	}
	m := db.Metrics().Filter
	if m.Hits < lookups*9/10 {
		t.Errorf("filter hits %d of %d absent lookups (misses %d), want nearly all", m.Hits, lookups, m.Misses)
	}
}

// Tables are zstd-compressed, also those a compaction only moved down.
func TestTablesUseZstd(t *testing.T) {
	db := openFilled(t, 5000)
	levels, err := db.SSTables(pebble.WithProperties())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, level := range levels {
		for _, tbl := range level {
			n++
			if name := tbl.Properties.CompressionName; !strings.Contains(strings.ToLower(name), "zstd") {
				t.Errorf("table %s compressed with %q, want zstd", tbl.FileNum, name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no table after a flush and compaction")
	}
}
