// Package pebbleopts holds the Pebble settings shared by the node's
// databases (the block store, the tx index, the evidence pool and the
// kvstore app), so that
// they are tuned in one place:
//
//   - Every table carries a Bloom filter of 10 bits per key (about 1% false
//     positives), so a point lookup of an absent key, such as the block
//     store's HasTx for every tx the mempool is offered, reads no data
//     block.
//   - Data blocks are compressed with zstd (level 1) below L0, not
//     Pebble's default Snappy: its entropy coding shrinks what Snappy
//     cannot (such as random text: a quarter smaller). Level 1 costs a
//     quarter less CPU than level 3 for about the same size on our data.
//     Flushes write L0 with Snappy: compactions soon rewrite those tables,
//     and zstd on them cost about 6% of a node's CPU under full load
//     (bench: 183 vs 194 µs of node CPU per tx, 4.5% more tx/s, 487 vs 457
//     disk bytes per tx, as an L0 table that is only moved down keeps
//     Snappy). Index and filter blocks stay Snappy.
//   - L0 is compacted at 16 files rather than 4, and the base level holds
//     16 MiB rather than 64 MiB: each flush spans most of the key space
//     (a block's height-keyed records, its txs' random hashes; the
//     kvstore's random keys), so every L0 compaction rewrites whatever of
//     the base level it overlaps, and fewer, larger ones rewrite it less
//     often. At 8 files rather than 4, a write-heavy benchmark of the block
//     store's layout spent a quarter less CPU and wrote a fifth fewer bytes
//     in compactions; 16 rather than 8 took a node 8% less CPU per tx
//     (bench: 38.1 vs 41.6 µs, interleaved runs, medians of 3), the extra
//     L0 tables' Bloom filters included, which every HasTx consults.
//   - Memtables are small (DefaultMemTableSize): each database keeps up to
//     a few memtables' worth of WAL files (Pebble recycles them), and each
//     memtable is memory held by the node.
//   - The node's databases share one block cache (Config.Cache), sized in
//     its config, rather than each holding a cache of its own.
//
// These settings change only how new tables are written: a database
// written with other settings opens and reads as before.
package pebbleopts

import (
	"bytes"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/internal/pebblelog"
)

// DefaultMemTableSize is the memtable size of a database whose Config does
// not set one.
const DefaultMemTableSize = 1 << 20

// The shape of the LSM tree (see the package documentation).
const (
	bloomBitsPerKey       = 10 // sizes the tables' Bloom filters
	l0CompactionThreshold = 16
	l0StopWritesThreshold = 3 * l0CompactionThreshold
	lBaseMaxBytes         = 16 << 20
)

// Config describes one database.
type Config struct {
	// FS is the filesystem; nil means the operating system's.
	FS vfs.FS
	// Logger receives Pebble's messages; nil discards them.
	Logger *slog.Logger
	// Cache is the block cache, which several databases may share; nil
	// gives the database a cache of its own of Pebble's default size
	// (8 MiB).
	Cache *pebble.Cache
	// MemTableSize is the size of a memtable; 0 means DefaultMemTableSize.
	MemTableSize uint64
	// DisableWAL turns Pebble's write-ahead log off: a write is durable only
	// once its memtable is flushed, and a crash loses the writes since the
	// last flush (never part of a batch). Only for a database that can be
	// rebuilt; its owner must call Flush before Close.
	DisableWAL bool
}

// Options returns the Pebble options for the database c describes.
func Options(c Config) *pebble.Options {
	o := &pebble.Options{
		FS:                    c.FS,
		Cache:                 c.Cache,
		Logger:                pebblelog.New(c.Logger),
		MemTableSize:          c.MemTableSize,
		DisableWAL:            c.DisableWAL,
		L0CompactionThreshold: l0CompactionThreshold,
		L0StopWritesThreshold: l0StopWritesThreshold,
		LBaseMaxBytes:         lBaseMaxBytes,
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	// The settings' type is Pebble-internal: take them from its profiles.
	zstd := &sstable.CompressionProfile{
		Name:                "ZstdFast",
		DataBlocks:          block.BalancedCompression.DataBlocks, // zstd level 1
		ValueBlocks:         block.BalancedCompression.ValueBlocks,
		OtherBlocks:         block.SnappyCompression.OtherBlocks,
		MinReductionPercent: block.SnappyCompression.MinReductionPercent,
	}
	for i := range o.Levels {
		l := &o.Levels[i]
		l.FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
		l.Compression = func() *sstable.CompressionProfile { return zstd }
	}
	// Flushes write L0 tables that compactions soon rewrite (see above).
	o.Levels[0].Compression = func() *sstable.CompressionProfile { return block.SnappyCompression }
	return o
}

// NewHasIter returns an iterator for SeekHas. Unlike Get it also consults
// the filters of the lowest level's tables, which Pebble skips by default;
// in a small database that level holds nearly everything, so a Get of an
// absent key reads a data block. An iterator sees r as it was when made.
func NewHasIter(r pebble.Reader) (*pebble.Iterator, error) {
	return r.NewIter(&pebble.IterOptions{UseL6Filters: true})
}

// SeekHas reports whether key is in the view of it, an iterator from
// NewHasIter, which may serve any number of lookups.
func SeekHas(it *pebble.Iterator, key []byte) (bool, error) {
	found := it.SeekPrefixGE(key) && bytes.Equal(it.Key(), key)
	return found, it.Error()
}
