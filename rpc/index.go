package rpc

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// Index is an in-memory index of committed txs and blocks by their event
// attributes, which can back Backend.Tx, TxSearch and BlockSearch. As in
// CometBFT's kv indexer, only application attributes marked index=true are
// searchable, besides tx.hash and tx.height for txs and block.height for
// blocks. It holds every indexed tx in memory, so a node rebuilds it on
// start from its block store (IndexBlock for each stored height).
type Index struct {
	mu     sync.RWMutex
	txs    []indexedTx
	byHash map[types.Hash]int
	blocks []indexedBlock
	// postings by composite key, then value, to positions in txs/blocks.
	txPost    map[string]map[string][]int
	blockPost map[string]map[string][]int
}

type indexedTx struct {
	tr    *TxResult
	attrs map[string][]string
}

type indexedBlock struct {
	height int64
	attrs  map[string][]string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		byHash:    make(map[types.Hash]int),
		txPost:    make(map[string]map[string][]int),
		blockPost: make(map[string]map[string][]int),
	}
}

// IndexBlock indexes a committed block and its txs with the application's
// results (which may be nil). Blocks are indexed in height order; a block
// at or below the highest height indexed is ignored, so that replaying
// stored blocks at start and indexing live ones may overlap.
func (ix *Index) IndexBlock(block *types.Block, results *abci.ResponseFinalizeBlock) {
	height := block.Header.Height
	battrs := map[string][]string{KeyBlockHeight: {strconv.FormatInt(height, 10)}}
	if results != nil {
		addIndexedAttributes(battrs, results.Events)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n := len(ix.blocks); n > 0 && height <= ix.blocks[n-1].height {
		return
	}
	addPostings(ix.blockPost, battrs, len(ix.blocks))
	ix.blocks = append(ix.blocks, indexedBlock{height: height, attrs: battrs})
	for i, tx := range block.Data.Txs {
		tr := &TxResult{Height: height, Index: uint32(i), Tx: tx}
		if results != nil && i < len(results.TxResults) {
			tr.Result = results.TxResults[i]
		}
		h := tr.Hash()
		attrs := map[string][]string{
			KeyTxHash:   {strings.ToUpper(hex.EncodeToString(h[:]))},
			KeyTxHeight: {strconv.FormatInt(height, 10)},
		}
		if tr.Result != nil {
			addIndexedAttributes(attrs, tr.Result.Events)
		}
		addPostings(ix.txPost, attrs, len(ix.txs))
		ix.byHash[h] = len(ix.txs)
		ix.txs = append(ix.txs, indexedTx{tr: tr, attrs: attrs})
	}
}

func addIndexedAttributes(attrs map[string][]string, evs []abci.Event) {
	for _, e := range evs {
		for _, a := range e.Attributes {
			if a.Index && e.Type != "" && a.Key != "" {
				k := e.Type + "." + a.Key
				attrs[k] = append(attrs[k], a.Value)
			}
		}
	}
}

func addPostings(post map[string]map[string][]int, attrs map[string][]string, pos int) {
	for k, vs := range attrs {
		m := post[k]
		if m == nil {
			m = make(map[string][]int)
			post[k] = m
		}
		for _, v := range vs {
			if l := m[v]; len(l) == 0 || l[len(l)-1] != pos {
				m[v] = append(l, pos)
			}
		}
	}
}

// Tx returns the indexed tx with this hash, or an error wrapping ErrNotFound.
func (ix *Index) Tx(_ context.Context, hash types.Hash) (*TxResult, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := ix.byHash[hash]
	if !ok {
		return nil, errTxNotFound(hash)
	}
	return ix.txs[i].tr, nil
}

func errTxNotFound(hash types.Hash) error {
	return &notFoundError{what: "tx " + strings.ToUpper(hex.EncodeToString(hash[:]))}
}

type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return e.what + " not found" }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// candidates returns the positions that may match q: the postings of its
// first equality condition, or all positions (nil, false) when it has none.
func candidates(post map[string]map[string][]int, q *Query) ([]int, bool) {
	for _, c := range q.conds {
		if c.Op == OpEqual && !c.Number {
			return post[c.Key][c.Operand], true
		}
	}
	return nil, false
}

// TxSearch returns the indexed txs matching q, in commit order. The
// tm.event condition is ignored, as every indexed tx is a Tx event.
func (ix *Index) TxSearch(ctx context.Context, q *Query) ([]*TxResult, error) {
	q = withoutEventType(q)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []*TxResult
	match := func(i int) {
		if q.Matches(ix.txs[i].attrs) {
			out = append(out, ix.txs[i].tr)
		}
	}
	if cand, ok := candidates(ix.txPost, q); ok {
		for _, i := range cand {
			match(i)
		}
	} else {
		for i := range ix.txs {
			if i%1024 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			match(i)
		}
	}
	return out, nil
}

// BlockSearch returns the heights of indexed blocks matching q, ascending.
func (ix *Index) BlockSearch(ctx context.Context, q *Query) ([]int64, error) {
	q = withoutEventType(q)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []int64
	match := func(i int) {
		if q.Matches(ix.blocks[i].attrs) {
			out = append(out, ix.blocks[i].height)
		}
	}
	if cand, ok := candidates(ix.blockPost, q); ok {
		for _, i := range cand {
			match(i)
		}
	} else {
		for i := range ix.blocks {
			if i%1024 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			match(i)
		}
	}
	return out, nil
}

// withoutEventType drops tm.event conditions, which searches do not index.
func withoutEventType(q *Query) *Query {
	out := &Query{src: q.src}
	for _, c := range q.conds {
		if c.Key != KeyEvent {
			out.conds = append(out.conds, c)
		}
	}
	return out
}
