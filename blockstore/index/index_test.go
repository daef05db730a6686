package index

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// openTestIndex opens an index in memory, closed when the test ends.
func openTestIndex(tb testing.TB) *Index {
	tb.Helper()
	ix, err := Open("index", Options{FS: vfs.NewMem()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ix.Close() })
	return ix
}

func TestIndexTxNotFound(t *testing.T) {
	ix := openTestIndex(t)
	_, err := ix.Tx(context.Background(), [32]byte{1})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "01000000") {
		t.Errorf("got %v", err)
	}
	q, _ := query.Parse("tx.height>0")
	got, err := ix.TxSearch(context.Background(), q)
	if err != nil || len(got) != 0 {
		t.Errorf("empty index search: %v %v", got, err)
	}
}

func TestIndexIgnoresReplayedBlocks(t *testing.T) {
	c := makeCorpus(2)
	ix := openTestIndex(t)
	c.indexInto(t, ix)
	if err := ix.IndexBlock(c.blocks[1], c.results[1]); err != nil { // replayed
		t.Fatal(err)
	}
	q, _ := query.Parse("tx.height>0")
	want, _ := c.want(q)
	got, err := ix.TxSearch(context.Background(), q)
	if err != nil || len(got) != len(want) || len(want) == 0 {
		t.Errorf("after replay: %d txs, %v; want %d", len(got), err, len(want))
	}
}

// corpus is a chain to index: blocks of txs whose results carry the
// attributes queries search, and the attributes each should match by.
type corpus struct {
	blocks  []*types.Block
	results []*abci.ResponseFinalizeBlock
}

// amounts and senders cycle through values that stress the encodings:
// negative, fractional, huge, NaN and non-numeric amounts; senders that
// are prefixes of each other, empty, or hold NUL bytes.
var (
	testAmounts = []string{"5", "-3", "2.5", "10", "0", "-0", "1e3", "NaN", "abc", "9223372036854775807", "100"}
	testSenders = []string{"alice", "alic", "alice\x00x", "bob", "", "carol", "alice\x00", "Bob"}
	testTimes   = []string{"2026-11-27T09:00:00Z", "2026-11-27T10:00:00+02:00", "2026-11-28", "not a time"}
)

func makeCorpus(heights int) *corpus {
	c := &corpus{}
	n := 0
	for h := 1; h <= heights; h++ {
		b := &types.Block{Header: types.Header{ChainID: "test-chain", Height: int64(h)}}
		res := &abci.ResponseFinalizeBlock{Events: []abci.Event{{Type: "begin", Attributes: []abci.EventAttribute{
			{Key: "proposer", Value: fmt.Sprintf("val%d", h%3), Index: true},
			{Key: "fee", Value: testAmounts[h%len(testAmounts)], Index: true},
			{Key: "secret", Value: "x", Index: false},
		}}}}
		for i := range h % 4 {
			n++
			tx := fmt.Appendf(nil, "tx-%d-%d", h, i)
			b.Data.Txs = append(b.Data.Txs, tx)
			if n%7 == 0 {
				continue // the app returned fewer results than txs
			}
			ev := abci.Event{Type: "transfer", Attributes: []abci.EventAttribute{
				{Key: "amount", Value: testAmounts[n%len(testAmounts)], Index: true},
				{Key: "sender", Value: testSenders[n%len(testSenders)], Index: true},
				{Key: "when", Value: testTimes[n%len(testTimes)], Index: true},
				{Key: "memo", Value: "unindexed", Index: false},
			}}
			if n%5 == 0 { // a second value of the same key
				ev.Attributes = append(ev.Attributes, abci.EventAttribute{Key: "amount", Value: "7", Index: true})
			}
			// reserved keys are not indexed from the app's events
			res.TxResults = append(res.TxResults, &abci.ExecTxResult{Code: uint32(n % 2), Events: []abci.Event{ev,
				{Type: "tx", Attributes: []abci.EventAttribute{{Key: "height", Value: "999", Index: true}}}}})
		}
		c.blocks, c.results = append(c.blocks, b), append(c.results, res)
	}
	return c
}

// want returns what a search must find: every tx or block whose indexed
// attributes match q, in commit order.
func (c *corpus) want(q *query.Query) (txs []string, heights []int64) {
	q = withoutEventType(q)
	for bi, b := range c.blocks {
		res := c.results[bi]
		attrs := map[string][]string{eventbus.KeyBlockHeight: {strconv.FormatInt(b.Header.Height, 10)}}
		for _, a := range indexedAttributes(nil, res.Events, eventbus.KeyBlockHeight) {
			attrs[a.key] = append(attrs[a.key], a.value)
		}
		if q.Matches(attrs) {
			heights = append(heights, b.Header.Height)
		}
		for i, tx := range b.Data.Txs {
			tr := &eventbus.TxResult{Tx: tx}
			h := tr.Hash()
			attrs := map[string][]string{eventbus.KeyTxHash: {strings.ToUpper(hex.EncodeToString(h[:]))},
				eventbus.KeyTxHeight: {strconv.FormatInt(b.Header.Height, 10)}}
			if i < len(res.TxResults) {
				for _, a := range indexedAttributes(nil, res.TxResults[i].Events, eventbus.KeyTxHash, eventbus.KeyTxHeight) {
					attrs[a.key] = append(attrs[a.key], a.value)
				}
			}
			if q.Matches(attrs) {
				txs = append(txs, string(tx))
			}
		}
	}
	return txs, heights
}

func (c *corpus) indexInto(t testing.TB, ix *Index) {
	t.Helper()
	for i, b := range c.blocks {
		if err := ix.IndexBlock(b, c.results[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIndexSearchMatchesQuerySemantics(t *testing.T) {
	c := makeCorpus(40)
	ix := openTestIndex(t)
	c.indexInto(t, ix)
	hash := sha(c.blocks[5].Data.Txs[1])
	ctx := context.Background()
	for _, tc := range indexQueries(hash) {
		t.Run(tc.q, func(t *testing.T) {
			q, err := query.Parse(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			wantTxs, wantHeights := c.want(q)
			if len(wantTxs) < tc.minTx || len(wantHeights) < tc.minBlks {
				t.Fatalf("the corpus gives %d txs and %d blocks; the case expects at least %d and %d", len(wantTxs), len(wantHeights), tc.minTx, tc.minBlks)
			}
			got, err := ix.TxSearch(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var gotTxs []string
			for i, r := range got {
				gotTxs = append(gotTxs, string(r.Tx))
				if i > 0 && (r.Height < got[i-1].Height || r.Height == got[i-1].Height && r.Index <= got[i-1].Index) {
					t.Errorf("results out of order at %d: %d/%d after %d/%d", i, r.Height, r.Index, got[i-1].Height, got[i-1].Index)
				}
			}
			if !slices.Equal(gotTxs, wantTxs) {
				t.Errorf("tx_search:\n got %q\nwant %q", gotTxs, wantTxs)
			}
			heights, err := ix.BlockSearch(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(heights, wantHeights) {
				t.Errorf("block_search: got %v, want %v", heights, wantHeights)
			}
		})
	}
}

type indexQuery struct {
	q              string
	minTx, minBlks int // at least this many, so that a case cannot pass by finding nothing
}

// indexQueries are the searches the index tests run; hash is a tx's.
func indexQueries(hash string) []indexQuery {
	return []indexQuery{
		{"", 40, 40},
		{"tm.event='Tx'", 40, 0},
		{"tx.hash='" + hash + "'", 1, 0},
		{"tx.hash='" + strings.ToLower(hash) + "'", 0, 0},
		{"tx.hash='zz'", 0, 0},
		{"tx.hash > 'A'", 10, 0},
		{"tx.height=6", 2, 0},
		{"tx.height=6.5", 0, 0},
		{"tx.height>=10 AND tx.height<20", 10, 0},
		{"tx.height>38.5", 2, 0},
		{"tx.height<=3 AND tx.height>3", 0, 0},
		{"tx.height='7'", 3, 0},
		{"tx.height EXISTS", 40, 0},
		{"tx.height=999", 0, 0},
		{"transfer.amount=5", 2, 0},
		{"transfer.amount=7", 2, 0},
		{"transfer.amount='5'", 2, 0},
		{"transfer.amount<0", 2, 0},
		{"transfer.amount<=0", 2, 0},
		{"transfer.amount>2", 5, 0},
		{"transfer.amount>=100", 2, 0},
		{"transfer.amount>9223372036854775806", 1, 0},
		{"transfer.amount>2 AND transfer.amount<8", 3, 0},
		{"transfer.amount EXISTS", 10, 0},
		{"transfer.amount CONTAINS 'a'", 2, 0},
		{"transfer.sender='alice'", 2, 0},
		{"transfer.sender='alic'", 2, 0},
		{"transfer.sender=''", 2, 0},
		{"transfer.sender<'alice'", 2, 0},
		{"transfer.sender<='alice'", 4, 0},
		{"transfer.sender>'alice'", 4, 0},
		{"transfer.sender>='bob'", 2, 0},
		{"transfer.sender>'alice' AND transfer.sender<'bob'", 2, 0},
		{"transfer.sender CONTAINS 'lic'", 4, 0},
		{"transfer.sender='alice' AND transfer.amount>0", 1, 0},
		{"transfer.sender='alice' AND tx.height>20", 1, 0},
		{"transfer.memo='unindexed'", 0, 0},
		{"transfer.when>=TIME 2026-11-27T08:30:00Z", 5, 0},
		{"transfer.when<DATE 2026-11-28", 5, 0},
		{"nosuch.key EXISTS", 0, 0},
		{"tx.height>5 AND transfer.amount=5 AND transfer.sender EXISTS", 1, 0},
		{"block.height>=5 AND block.height<=9", 0, 5},
		{"block.height=3", 0, 1},
		{"begin.proposer='val1'", 0, 10},
		{"begin.proposer='val1' AND block.height>20", 0, 5},
		{"begin.fee>=5", 0, 10},
		{"begin.fee=-0", 0, 5},
		{"begin.secret='x'", 0, 0},
		{"tm.event='NewBlock' AND begin.proposer CONTAINS 'val'", 0, 40},
	}
}

func sha(tx []byte) string {
	h := (&eventbus.TxResult{Tx: tx}).Hash()
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// FuzzIndexSearch runs arbitrary queries against an indexed corpus: the
// index must find exactly the txs and blocks the query matches, in order.
func FuzzIndexSearch(f *testing.F) {
	for _, tc := range indexQueries(strings.Repeat("AB", 32)) {
		f.Add(tc.q)
	}
	c := makeCorpus(30)
	ix := openTestIndex(f)
	c.indexInto(f, ix)
	f.Fuzz(func(t *testing.T, s string) {
		q, err := query.Parse(s)
		if err != nil {
			return
		}
		checkSearch(t, ix, c, q, s)
	})
}

// checkSearch checks that tx_search and block_search of q (written s) on
// ix find what the corpus c says they must.
func checkSearch(t *testing.T, ix *Index, c *corpus, q *query.Query, s string) {
	t.Helper()
	wantTxs, wantHeights := c.want(q)
	got, err := ix.TxSearch(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var gotTxs []string
	for _, r := range got {
		gotTxs = append(gotTxs, string(r.Tx))
	}
	if !slices.Equal(gotTxs, wantTxs) {
		t.Errorf("tx_search %q:\n got %q\nwant %q", s, gotTxs, wantTxs)
	}
	heights, err := ix.BlockSearch(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(heights, wantHeights) {
		t.Errorf("block_search %q: got %v, want %v", s, heights, wantHeights)
	}
}

func TestIndexTxByHash(t *testing.T) {
	c := makeCorpus(10)
	ix := openTestIndex(t)
	c.indexInto(t, ix)
	ctx := context.Background()
	for bi, b := range c.blocks {
		for i, tx := range b.Data.Txs {
			got, err := ix.Tx(ctx, (&eventbus.TxResult{Tx: tx}).Hash())
			if err != nil {
				t.Fatal(err)
			}
			if got.Height != b.Header.Height || got.Index != uint32(i) || !bytes.Equal(got.Tx, tx) {
				t.Errorf("%s: got %d/%d %q", tx, got.Height, got.Index, got.Tx)
			}
			if i < len(c.results[bi].TxResults) {
				if want := c.results[bi].TxResults[i]; got.Result == nil || got.Result.String() != want.String() {
					t.Errorf("%s: result %v, want %v", tx, got.Result, want)
				}
			} else if got.Result != nil {
				t.Errorf("%s: result %v for a tx the app gave none", tx, got.Result)
			}
		}
	}
}

func TestIndexDuplicateTx(t *testing.T) {
	ix := openTestIndex(t)
	tx := []byte("again")
	for _, h := range []int64{1, 2, 3} {
		b := &types.Block{Header: types.Header{Height: h}, Data: types.Data{Txs: [][]byte{[]byte("other"), tx}}}
		if h == 2 {
			b.Data.Txs = b.Data.Txs[:1]
		}
		if err := ix.IndexBlock(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ix.Tx(context.Background(), (&eventbus.TxResult{Tx: tx}).Hash())
	if err != nil || got.Height != 3 || got.Index != 1 {
		t.Fatalf("tx committed twice: got %+v, %v; want the one at 3/1", got, err)
	}
	q, _ := query.Parse("tx.hash='" + sha(tx) + "'")
	all, err := ix.TxSearch(context.Background(), q)
	if err != nil || len(all) != 2 || all[0].Height != 1 || all[1].Height != 3 {
		t.Errorf("tx_search by hash: %d txs (%v), want the ones at heights 1 and 3", len(all), err)
	}
}

func TestIndexPersistsAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tx_index.db")
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h, hash := ix.LastIndexed(); h != 0 || hash != (types.Hash{}) {
		t.Errorf("new index: last %d %X", h, hash)
	}
	c := makeCorpus(12)
	c.indexInto(t, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if ix, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if h, hash := ix.LastIndexed(); h != 12 || hash != c.blocks[11].Hash() {
		t.Errorf("reopened: last %d %X, want 12 %X", h, hash, c.blocks[11].Hash())
	}
	// Re-indexing a block the index has is a no-op, even with other results.
	if err := ix.IndexBlock(c.blocks[3], &abci.ResponseFinalizeBlock{}); err != nil {
		t.Fatal(err)
	}
	q, _ := query.Parse("tx.height>0")
	got, err := ix.TxSearch(context.Background(), q)
	wantTxs, _ := c.want(q)
	if err != nil || len(got) != len(wantTxs) {
		t.Errorf("after reopen: %d txs (%v), want %d", len(got), err, len(wantTxs))
	}
	if err := ix.Reset(); err != nil {
		t.Fatal(err)
	}
	if h, _ := ix.LastIndexed(); h != 0 {
		t.Errorf("after reset: last %d", h)
	}
	if got, err := ix.TxSearch(context.Background(), q); err != nil || len(got) != 0 {
		t.Errorf("after reset: %d txs, %v", len(got), err)
	}
	if err := ix.IndexBlock(c.blocks[0], c.results[0]); err != nil {
		t.Fatal(err)
	}
	if h, _ := ix.LastIndexed(); h != 1 {
		t.Errorf("reindexed after reset: last %d", h)
	}
}

func TestIndexRejectsBadInput(t *testing.T) {
	ix := openTestIndex(t)
	if err := ix.IndexBlock(&types.Block{}, nil); !errors.Is(err, ErrIndex) {
		t.Errorf("height 0: %v", err)
	}
	if err := ix.IndexBlock(&types.Block{Header: types.Header{Height: 1}, Data: types.Data{Txs: [][]byte{{1}}}}, nil); err != nil {
		t.Errorf("block without results: %v", err)
	}
	for _, rec := range [][]byte{nil, {5}, {1, 'a'}, {1, 'a', 2}, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1}} {
		if _, _, _, err := decodeTxRecord(rec); !errors.Is(err, errCorruptIndex) {
			t.Errorf("tx record %x: %v", rec, err)
		}
	}
	if _, _, err := (&txReader{}).read(position(1, 0), []byte{1, 'a', 1, 0xFF}, false); !errors.Is(err, errCorruptIndex) {
		t.Errorf("bad result: %v", err)
	}
	for _, rec := range [][]byte{nil, {1}, {1, 5, 'a'}, {1, 1, 'a', 1, 'b', 9}, {0xFF}} {
		if err := decodeAttrs(rec, map[string][]string{}); !errors.Is(err, errCorruptIndex) {
			t.Errorf("block record %x: %v", rec, err)
		}
	}
	for _, v := range [][]byte{nil, {'a'}, {'a', 0}, {'a', 0, 7}} {
		if _, _, err := decodeValue(v); !errors.Is(err, errCorruptIndex) {
			t.Errorf("value %x: %v", v, err)
		}
	}
}

func TestIndexEncodingsKeepOrder(t *testing.T) {
	strs := []string{"", "\x00", "\x00\x00", "\x00\x01", "\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "b", "\xff"}
	for i, a := range strs {
		ea := appendValue(nil, a)
		if v, rest, err := decodeValue(append(bytes.Clone(ea), 9)); err != nil || v != a || !bytes.Equal(rest, []byte{9}) {
			t.Errorf("%q: decoded %q %x %v", a, v, rest, err)
		}
		for _, b := range strs[i+1:] {
			if eb := appendValue(nil, b); bytes.Compare(ea, eb) >= 0 || bytes.HasPrefix(eb, ea) {
				t.Errorf("%q encodes at or after %q, or as its prefix", a, b)
			}
		}
	}
	nums := []float64{math.Inf(-1), -1e300, -2.5, -1, -1e-300, 0, 1e-300, 1, 2.5, 1e300, math.Inf(1)}
	for i := 1; i < len(nums); i++ {
		if bytes.Compare(appendNumber(nil, nums[i-1]), appendNumber(nil, nums[i])) >= 0 {
			t.Errorf("%v encodes at or after %v", nums[i-1], nums[i])
		}
	}
	if !bytes.Equal(appendNumber(nil, math.Copysign(0, -1)), appendNumber(nil, 0)) {
		t.Error("-0 and 0 encode differently")
	}
}

// benchBlock is a block of n txs at height h, each with a result of two
// indexed attributes: app.key (distinct within the block) and app.amount.
func benchBlock(h int64, n int) (*types.Block, *abci.ResponseFinalizeBlock) {
	block := &types.Block{Header: types.Header{ChainID: "test-chain", Height: h}}
	res := &abci.ResponseFinalizeBlock{}
	for i := range n {
		block.Data.Txs = append(block.Data.Txs, fmt.Appendf(nil, "h%d-key%06d=value", h, i))
		res.TxResults = append(res.TxResults, &abci.ExecTxResult{Events: []abci.Event{{Type: "app", Attributes: []abci.EventAttribute{
			{Key: "key", Value: fmt.Sprintf("key%06d", i), Index: true},
			{Key: "amount", Value: strconv.Itoa(i), Index: true},
		}}}})
	}
	return block, res
}

// BenchmarkIndexBlock indexes blocks of 1,000 txs in a database on disk.
func BenchmarkIndexBlock(b *testing.B) {
	ix, err := Open(filepath.Join(b.TempDir(), "tx_index.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	block, res := benchBlock(1, 1000)
	b.ReportAllocs()
	h := int64(0)
	for b.Loop() {
		h++
		block.Header.Height = h
		if err := ix.IndexBlock(block, res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTxSearch searches 50,000 txs (50 blocks of 1,000) on disk.
func BenchmarkTxSearch(b *testing.B) {
	ix, err := Open(filepath.Join(b.TempDir(), "tx_index.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	for h := int64(1); h <= 50; h++ {
		if err := ix.IndexBlock(benchBlock(h, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		q    string
		want int
	}{
		{"app.key='key000500'", 50},                 // string equality: one prefix scan
		{"app.amount>=990", 500},                    // numeric range
		{"tx.height=25", 1000},                      // height: a range of records
		{"app.key='key000500' AND tx.height>45", 5}, // equality, then height bounds
	} {
		q, err := query.Parse(bc.q)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := ix.TxSearch(context.Background(), q)
				if err != nil || len(got) != bc.want {
					b.Fatalf("%d txs (%v), want %d", len(got), err, bc.want)
				}
			}
		})
	}
}
