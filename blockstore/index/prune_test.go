package index

import (
	"context"
	"testing"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
)

// TestPrune: after pruning below height 20, every search finds exactly
// what it finds in an index of heights 20 to 40 only, and no record,
// posting or hash entry of a pruned height is left in the database.
func TestPrune(t *testing.T) {
	c := makeCorpus(40)
	ix := openTestIndex(t)
	c.indexInto(t, ix)
	const retain = 20
	n, err := ix.Prune(retain)
	if err != nil {
		t.Fatal(err)
	}
	kept := &corpus{blocks: c.blocks[retain-1:], results: c.results[retain-1:]}
	var prunedTxs int
	for _, b := range c.blocks[:retain-1] {
		prunedTxs += len(b.Data.Txs)
	}
	if n != prunedTxs {
		t.Fatalf("Prune deleted %d txs, want %d", n, prunedTxs)
	}
	ctx := context.Background()
	for _, tc := range indexQueries(sha(c.blocks[30].Data.Txs[1])) {
		q, err := query.Parse(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		checkSearch(t, ix, kept, q, tc.q+" after pruning")
	}
	if _, err := ix.Tx(ctx, (&eventbus.TxResult{Tx: c.blocks[5].Data.Txs[0]}).Hash()); err == nil {
		t.Error("a tx of a pruned height is still found by hash")
	}

	iter, err := ix.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer iter.Close()
	for iter.First(); iter.Valid(); iter.Next() {
		k := iter.Key()
		if k[0] == prefixMeta {
			continue
		}
		pos, err := keyPos(k)
		if err != nil {
			t.Fatal(err)
		}
		if h, _, _ := decodePos(pos); h < retain {
			t.Errorf("key %q of pruned height %d left in the index", k, h)
		}
	}
}
