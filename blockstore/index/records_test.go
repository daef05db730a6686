package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

var errNoBlock = errors.New("no such block")

// memBlocks is an in-memory block store for the index to point into.
type memBlocks struct {
	blocks map[int64]*types.Block
	resps  map[int64][]byte
	txs    map[types.Hash]blockstore.TxLocation // latest place, as the store keeps
}

func newMemBlocks(tb testing.TB, c *corpus) *memBlocks {
	tb.Helper()
	m := &memBlocks{blocks: map[int64]*types.Block{}, resps: map[int64][]byte{}, txs: map[types.Hash]blockstore.TxLocation{}}
	for i, b := range c.blocks {
		m.add(tb, b, c.results[i])
	}
	return m
}

func (m *memBlocks) add(tb testing.TB, b *types.Block, res *abci.ResponseFinalizeBlock) {
	tb.Helper()
	raw, err := res.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	h := b.Header.Height
	m.blocks[h], m.resps[h] = b, raw
	for i, tx := range b.Data.Txs {
		m.txs[sha256.Sum256(tx)] = blockstore.TxLocation{Height: h, Index: uint32(i)}
	}
}

func (m *memBlocks) TxByHash(hash [32]byte) (blockstore.TxLocation, bool, error) {
	loc, ok := m.txs[hash]
	return loc, ok, nil
}

func (m *memBlocks) LoadBlock(h int64) (*types.Block, error) {
	if b, ok := m.blocks[h]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: %d", errNoBlock, h)
}

func (m *memBlocks) LoadFinalizeBlockResponse(h int64) ([]byte, error) {
	if r, ok := m.resps[h]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("%w: %d", errNoBlock, h)
}

// openIndexAt opens the index "index" on fs, closed when the test ends.
func openIndexAt(tb testing.TB, fs vfs.FS, blocks BlockSource) *Index {
	tb.Helper()
	ix, err := Open("index", Options{FS: fs, Blocks: blocks})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ix.Close() })
	return ix
}

// txString is what a test compares of a found tx.
func txString(r *eventbus.TxResult) string {
	res := "no result"
	if r.Result != nil {
		res = r.Result.String()
	}
	return fmt.Sprintf("%d/%d %q %s", r.Height, r.Index, r.Tx, res)
}

// An index with a block store keeps one byte per tx record and finds the
// same txs, with the same results, as one keeping copies.
func TestIndexPointerRecordsFindWhatCopiesFind(t *testing.T) {
	c := makeCorpus(40)
	copies := openTestIndex(t)
	c.indexInto(t, copies)
	pointers := openIndexAt(t, vfs.NewMem(), newMemBlocks(t, c))
	c.indexInto(t, pointers)
	ctx := context.Background()

	rec, err := get(pointers.db, concat([]byte{prefixTx}, position(3, 1)))
	if err != nil || len(rec) != 1 {
		t.Fatalf("pointer index: record of tx 3/1 is %x (%v), want one byte", rec, err)
	}
	it, err := pointers.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTxHash}, UpperBound: []byte{prefixTxHash + 1}})
	if err != nil {
		t.Fatal(err)
	}
	if it.First() {
		t.Errorf("pointer index: hash entry %x; the block store finds txs by hash", it.Key())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range indexQueries(sha(c.blocks[5].Data.Txs[1])) {
		q, err := query.Parse(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := copies.TxSearch(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pointers.TxSearch(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if len(got) != len(want) || len(got) < tc.minTx {
			t.Fatalf("%s: %d txs, copies find %d (at least %d expected)", tc.q, len(got), len(want), tc.minTx)
		}
		for i := range got {
			if g, w := txString(got[i]), txString(want[i]); g != w {
				t.Errorf("%s: tx %d is %s, want %s", tc.q, i, g, w)
			}
		}
	}
	for _, b := range c.blocks {
		for _, tx := range b.Data.Txs {
			h := (&eventbus.TxResult{Tx: tx}).Hash()
			want, err := copies.Tx(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pointers.Tx(ctx, h)
			if err != nil || txString(got) != txString(want) {
				t.Errorf("Tx(%s): %v (%v), want %s", tx, got, err, txString(want))
			}
		}
	}
}

// With a block store, a tx is found by hash at its latest place, once
// the index has reached it.
func TestIndexFindsByHashThroughBlockStore(t *testing.T) {
	c := makeCorpus(6)
	blocks := newMemBlocks(t, c)
	ix := openIndexAt(t, vfs.NewMem(), blocks)
	for i := range 4 {
		if err := ix.IndexBlock(c.blocks[i], c.results[i]); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	ahead := c.blocks[5].Data.Txs[0] // committed, not indexed yet
	if _, err := ix.Tx(ctx, sha256.Sum256(ahead)); !errors.Is(err, ErrNotFound) {
		t.Errorf("tx beyond the indexed height: %v, want ErrNotFound", err)
	}
	q, _ := query.Parse("tx.hash='" + sha(ahead) + "'")
	if got, err := ix.TxSearch(ctx, q); err != nil || len(got) != 0 {
		t.Errorf("search for a tx beyond the indexed height: %d txs, %v", len(got), err)
	}

	again := c.blocks[1].Data.Txs[0] // committed at height 2, and again at 5
	b5 := &types.Block{Header: c.blocks[4].Header, Data: types.Data{Txs: [][]byte{[]byte("other"), again}}}
	blocks.add(t, b5, &abci.ResponseFinalizeBlock{})
	if err := ix.IndexBlock(b5, &abci.ResponseFinalizeBlock{}); err != nil {
		t.Fatal(err)
	}
	got, err := ix.Tx(ctx, sha256.Sum256(again))
	if err != nil || got.Height != 5 || got.Index != 1 || !bytes.Equal(got.Tx, again) {
		t.Fatalf("tx committed twice: %+v, %v; want the one at 5/1", got, err)
	}
	q, _ = query.Parse("tx.hash='" + sha(again) + "'")
	if all, err := ix.TxSearch(ctx, q); err != nil || len(all) != 1 || all[0].Height != 5 {
		t.Errorf("search by hash of a tx committed twice: %d txs, %v; want the latest", len(all), err)
	}
}

// An index written with copies (as before pointers existed) still reads
// them when reopened with a block store, and adds pointers after them.
func TestIndexReadsCopiesWithBlockStore(t *testing.T) {
	c := makeCorpus(8)
	fs := vfs.NewMem()
	old, err := Open("index", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := old.IndexBlock(c.blocks[i], c.results[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	ix := openIndexAt(t, fs, newMemBlocks(t, c))
	c.indexInto(t, ix) // the first four are ignored: indexed already
	q, _ := query.Parse("tx.height>0")
	got, err := ix.TxSearch(context.Background(), q)
	wantTxs, _ := c.want(q)
	if err != nil || len(got) != len(wantTxs) {
		t.Fatalf("mixed index: %d txs (%v), want %d", len(got), err, len(wantTxs))
	}
	for i, r := range got {
		if string(r.Tx) != wantTxs[i] {
			t.Errorf("tx %d: %q, want %q", i, r.Tx, wantTxs[i])
		}
	}
}

// A pointer whose block the store no longer has, or that the store
// contradicts, gives a clear error.
func TestIndexPointerErrors(t *testing.T) {
	c := makeCorpus(8)
	blocks := newMemBlocks(t, c)
	fs := vfs.NewMem()
	ix := openIndexAt(t, fs, blocks)
	c.indexInto(t, ix)
	ctx := context.Background()
	tx := c.blocks[2].Data.Txs[0] // height 3
	hash := (&eventbus.TxResult{Tx: tx}).Hash()

	delete(blocks.blocks, 3) // pruned
	if _, err := ix.Tx(ctx, hash); !errors.Is(err, ErrIndex) || !errors.Is(err, errNoBlock) || !strings.Contains(err.Error(), "pruned") {
		t.Errorf("pruned block: %v", err)
	}
	blocks.blocks[3] = &types.Block{Header: c.blocks[2].Header} // no txs
	if _, err := ix.Tx(ctx, hash); !errors.Is(err, errCorruptIndex) {
		t.Errorf("block without the tx: %v", err)
	}
	blocks.blocks[3] = c.blocks[2]
	raw, _ := (&abci.ResponseFinalizeBlock{}).Marshal()
	blocks.resps[3] = raw
	if _, err := ix.Tx(ctx, hash); !errors.Is(err, errCorruptIndex) {
		t.Errorf("response without the result: %v", err)
	}
	blocks.resps[3] = []byte{0xFF}
	if _, err := ix.Tx(ctx, hash); !errors.Is(err, ErrIndex) {
		t.Errorf("undecodable response: %v", err)
	}
	if _, _, err := ix.reader().read(position(3, 0), []byte{7}, false); !errors.Is(err, errCorruptIndex) {
		t.Errorf("unknown record kind: %v", err)
	}
	if _, _, err := (&txReader{}).read(position(3, 0), []byte{recResult}, false); !errors.Is(err, ErrIndex) || !strings.Contains(err.Error(), "without one") {
		t.Errorf("pointer read without a block store: %v", err)
	}
}
