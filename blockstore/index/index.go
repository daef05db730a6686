package index

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	"github.com/bftnode/bftnode/internal/pebbleopts"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// ErrIndex is wrapped by the index's storage errors.
var ErrIndex = errors.New("tx index")

// ErrNotFound is wrapped by Tx's error for a tx that is not indexed.
var ErrNotFound = errors.New("not found")

// Index is a persistent index of committed txs and blocks by their event
// attributes, in a Pebble database of its own, which backs Backend.Tx,
// TxSearch and BlockSearch. As in CometBFT's kv indexer, only application
// attributes marked index=true are searchable, besides tx.hash and
// tx.height for txs and block.height for blocks (application attributes
// with these reserved keys are not indexed). Everything in it can be
// rebuilt from the block store, so it writes without fsync or Pebble WAL:
// after a crash it may be behind, and LastIndexed says from where to catch
// up.
//
// An Index is safe for concurrent use.
type Index struct {
	db     *pebble.DB
	blocks BlockSource // nil: tx records hold copies

	mu       sync.Mutex // serialises writes
	lastH    int64      // guarded by mu
	lastHash types.Hash // guarded by mu
}

// Options configures Open.
type Options struct {
	// Logger receives Pebble's messages; nil discards them.
	Logger *slog.Logger
	// FS is the file system to use; nil means the operating system's.
	// Tests may use vfs.NewMem().
	FS vfs.FS
	// Cache is the block cache, maybe shared with other databases; nil
	// gives the index one of its own.
	Cache *pebble.Cache
	// Blocks is the block store holding the indexed blocks and their
	// FinalizeBlock responses. With it, a tx's record only points there,
	// and txs are found by hash through the store's hash index; without it
	// (an index with no store, as in tests), the record holds a copy of the
	// tx and its result, and the index keeps its own hash entries. An index
	// may hold both kinds of records.
	Blocks BlockSource
}

// BlockSource is where the txs and results that tx records point at are
// read from; the block store implements it.
type BlockSource interface {
	LoadBlock(height int64) (*types.Block, error)
	// LoadFinalizeBlockResponse returns the encoded
	// abci.ResponseFinalizeBlock saved for height.
	LoadFinalizeBlockResponse(height int64) ([]byte, error)
	// TxByHash returns where the committed tx with this hash is, ok false
	// when no block holds it.
	TxByHash(hash [32]byte) (loc blockstore.TxLocation, ok bool, err error)
}

// Open opens (or creates) the index database in dir.
func Open(dir string, opts Options) (*Index, error) {
	// No Pebble WAL: the index can be rebuilt, and a crash loses at most
	// the whole batches (blocks) since the last memtable flush, which
	// LastIndexed then shows. Close flushes.
	db, err := pebble.Open(dir, pebbleopts.Options(pebbleopts.Config{FS: opts.FS, Logger: opts.Logger, Cache: opts.Cache, DisableWAL: true}))
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrIndex, dir, err)
	}
	ix := &Index{db: db, blocks: opts.Blocks}
	v, closer, err := db.Get(metaLastKey())
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return ix, nil
	case err != nil:
		_ = db.Close()
		return nil, fmt.Errorf("%w: read the last indexed height: %w", ErrIndex, err)
	}
	defer closer.Close()
	if len(v) != 8+len(ix.lastHash) {
		_ = db.Close()
		return nil, fmt.Errorf("%w: %w: last indexed height of %d bytes", ErrIndex, errCorruptIndex, len(v))
	}
	ix.lastH = int64(binary.BigEndian.Uint64(v))
	copy(ix.lastHash[:], v[8:])
	return ix, nil
}

// Close writes what the index holds in memory to disk and closes the
// database.
func (ix *Index) Close() error {
	if err := ix.db.Flush(); err != nil {
		return errors.Join(fmt.Errorf("%w: flush: %w", ErrIndex, err), ix.db.Close())
	}
	if err := ix.db.Close(); err != nil {
		return fmt.Errorf("%w: close: %w", ErrIndex, err)
	}
	return nil
}

// LastIndexed returns the height and hash of the last block indexed, or 0
// and the zero hash when there is none.
func (ix *Index) LastIndexed() (int64, types.Hash) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.lastH, ix.lastHash
}

// Reset empties the index, as when the chain it indexed was replaced.
func (ix *Index) Reset() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.db.DeleteRange([]byte{0}, []byte{0xFF}, pebble.NoSync); err != nil {
		return fmt.Errorf("%w: reset: %w", ErrIndex, err)
	}
	ix.lastH, ix.lastHash = 0, types.Hash{}
	return nil
}

// IndexBlock indexes a committed block and its txs with the application's
// results (which may be nil), in one batch. Blocks are indexed in height
// order; a block at or below the last height indexed is ignored, so that
// catching up from the store and indexing live blocks may overlap.
func (ix *Index) IndexBlock(block *types.Block, results *abci.ResponseFinalizeBlock) error {
	height := block.Header.Height
	if height <= 0 {
		return fmt.Errorf("%w: cannot index a block at height %d", ErrIndex, height)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if height <= ix.lastH {
		return nil
	}
	b := ix.db.NewBatch()
	defer b.Close()
	var bAttrs []attr
	if results != nil {
		bAttrs = indexedAttributes(nil, results.Events, eventbus.KeyBlockHeight)
	}
	pos := position(height, 0)
	if err := b.Set(concat([]byte{prefixBlock}, pos), encodeAttrs(bAttrs), nil); err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	if err := setPostings(b, prefixBlockAttr, prefixBlockNum, bAttrs, pos); err != nil {
		return err
	}
	for i, tx := range block.Data.Txs {
		var res *abci.ExecTxResult
		if results != nil && i < len(results.TxResults) {
			res = results.TxResults[i]
		}
		if err := ix.indexTx(b, height, uint32(i), tx, res); err != nil {
			return err
		}
	}
	hash := block.Hash()
	last := binary.BigEndian.AppendUint64(nil, uint64(height))
	last = append(last, hash[:]...)
	if err := b.Set(metaLastKey(), last, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("%w: write block %d: %w", ErrIndex, height, err)
	}
	ix.lastH, ix.lastHash = height, hash
	return nil
}

// indexTx adds a tx's record, hash entry and postings to b.
func (ix *Index) indexTx(b *pebble.Batch, height int64, i uint32, tx []byte, res *abci.ExecTxResult) error {
	pos := position(height, i)
	var rec []byte
	var attrs []attr
	if res != nil {
		attrs = indexedAttributes(nil, res.Events, eventbus.KeyTxHash, eventbus.KeyTxHeight)
	}
	if ix.blocks != nil {
		rec = pointerRecord(res != nil)
	} else {
		var raw []byte
		if res != nil {
			var err error
			if raw, err = res.Marshal(); err != nil {
				return fmt.Errorf("%w: encode the result of tx %d at height %d: %w", ErrIndex, i, height, err)
			}
		}
		rec = encodeTxRecord(tx, raw, res != nil)
	}
	if ix.blocks == nil { // else the block store finds txs by hash
		hash := (&eventbus.TxResult{Tx: tx}).Hash()
		if err := b.Set(concat([]byte{prefixTxHash}, hash[:], pos), nil, nil); err != nil {
			return fmt.Errorf("%w: %w", ErrIndex, err)
		}
	}
	if err := b.Set(concat([]byte{prefixTx}, pos), rec, nil); err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	return setPostings(b, prefixTxAttr, prefixTxNum, attrs, pos)
}

// setPostings adds the string and numeric postings of attrs at pos to b.
func setPostings(b *pebble.Batch, strPrefix, numPrefix byte, attrs []attr, pos []byte) error {
	for _, key := range postingKeys(strPrefix, numPrefix, attrs, pos) {
		if err := b.Set(key, nil, nil); err != nil {
			return fmt.Errorf("%w: %w", ErrIndex, err)
		}
	}
	return nil
}

// postingKeys are the keys of the string and numeric postings of attrs at
// pos.
func postingKeys(strPrefix, numPrefix byte, attrs []attr, pos []byte) [][]byte {
	var keys [][]byte
	for _, a := range attrs {
		keys = append(keys, append(appendValue(attrPrefix(strPrefix, a.key), a.value), pos...))
		if f, ok := parseNumber(a.value); ok {
			keys = append(keys, append(appendNumber(attrPrefix(numPrefix, a.key), f), pos...))
		}
	}
	return keys
}

// indexedAttributes appends to out the attributes of evs marked index=true
// as composite keys ("transfer.sender") and values, leaving out the
// reserved keys and keys no query can name.
func indexedAttributes(out []attr, evs []abci.Event, reserved ...string) []attr {
	for _, e := range evs {
		for _, a := range e.Attributes {
			if !a.Index || e.Type == "" || a.Key == "" {
				continue
			}
			k := e.Type + "." + a.Key
			if strings.IndexByte(k, 0) >= 0 || slices.Contains(reserved, k) {
				continue
			}
			out = append(out, attr{key: k, value: a.Value})
		}
	}
	return out
}

// Tx returns the indexed tx with this hash (the latest, should the same
// tx have been committed twice), or an error wrapping ErrNotFound.
func (ix *Index) Tx(ctx context.Context, hash types.Hash) (*eventbus.TxResult, error) {
	snap := ix.db.NewSnapshot()
	defer snap.Close()
	positions, err := ix.txPositions(ctx, snap, hash)
	if err != nil {
		return nil, err
	}
	if len(positions) == 0 {
		return nil, errTxNotFound(hash)
	}
	pos := positions[len(positions)-1]
	rec, err := get(snap, concat([]byte{prefixTx}, pos))
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: %w: no record for tx %X", ErrIndex, errCorruptIndex, hash)
	}
	tr, _, err := ix.reader().read(pos, rec, false)
	return tr, err
}

// txPositions returns the positions of the indexed txs with this hash,
// ascending. With a block store they come from its hash index, which
// knows only a tx's latest place (as CometBFT's indexer does), and count
// only if indexed already; without one, from the 'x' entries.
func (ix *Index) txPositions(ctx context.Context, r pebble.Reader, hash types.Hash) ([][]byte, error) {
	if ix.blocks == nil {
		at := concat([]byte{prefixTxHash}, hash[:])
		return postings(ctx, r, plan{ranges: [][2][]byte{{at, prefixEnd(at)}}}, 1, math.MaxInt64)
	}
	loc, ok, err := ix.blocks.TxByHash(hash)
	if err != nil {
		return nil, fmt.Errorf("%w: find tx %X in the block store: %w", ErrIndex, hash, err)
	}
	if last, _ := ix.LastIndexed(); !ok || loc.Height > last {
		return nil, nil
	}
	return [][]byte{position(loc.Height, loc.Index)}, nil
}

// get returns a copy of the value of key, or nil when there is none.
func get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIndex, err)
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}

func errTxNotFound(hash types.Hash) error {
	return &notFoundError{what: "tx " + strings.ToUpper(hex.EncodeToString(hash[:]))}
}

type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return e.what + " not found" }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// TxSearch returns the indexed txs matching q, in ascending (height, index)
// order. The tm.event condition is ignored, as every indexed tx is a Tx
// event.
func (ix *Index) TxSearch(ctx context.Context, q *query.Query) ([]*eventbus.TxResult, error) {
	q = withoutEventType(q)
	var out []*eventbus.TxResult
	r := ix.reader()
	err := ix.search(ctx, txSpace, q, func(pos, rec []byte) error {
		tr, attrs, err := r.read(pos, rec, true)
		if err != nil {
			return err
		}
		if q.Matches(attrs) {
			out = append(out, tr)
		}
		return nil
	})
	return out, err
}

// BlockSearch returns the heights of indexed blocks matching q, ascending.
func (ix *Index) BlockSearch(ctx context.Context, q *query.Query) ([]int64, error) {
	q = withoutEventType(q)
	var out []int64
	err := ix.search(ctx, blockSpace, q, func(pos, rec []byte) error {
		height, _, err := decodePos(pos)
		if err != nil {
			return err
		}
		attrs := map[string][]string{eventbus.KeyBlockHeight: {strconv.FormatInt(height, 10)}}
		if err := decodeAttrs(rec, attrs); err != nil {
			return err
		}
		if q.Matches(attrs) {
			out = append(out, height)
		}
		return nil
	})
	return out, err
}

// withoutEventType drops tm.event conditions, which searches do not index.
func withoutEventType(q *query.Query) *query.Query { return q.Without(eventbus.KeyEvent) }
