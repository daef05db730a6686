package index

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	"github.com/bftnode/bftnode/types"
)

// space is the key layout of one kind of indexed item: txs or blocks.
type space struct {
	record, str, num byte
	heightKey        string
	hashKey          string // "" when items are not found by hash
}

var (
	txSpace    = space{record: prefixTx, str: prefixTxAttr, num: prefixTxNum, heightKey: eventbus.KeyTxHeight, hashKey: eventbus.KeyTxHash}
	blockSpace = space{record: prefixBlock, str: prefixBlockAttr, num: prefixBlockNum, heightKey: eventbus.KeyBlockHeight}
)

// scanKind is how a plan finds its candidates.
type scanKind int

const (
	scanRecords  scanKind = iota // the records within the height bounds, in order
	scanPostings                 // positions from ranges of postings
	scanHash                     // the positions of the txs with one hash
	scanNothing                  // no item can match
)

// plan is how to find the candidates of one condition: a superset of the
// items it matches, which the search then filters with the whole query.
type plan struct {
	kind   scanKind
	rank   int              // lower is more selective
	ranges [][2][]byte      // scanPostings: [lower, upper) key ranges
	values *query.Condition // scanPostings: check each string posting's value
	skip   int              // scanPostings: length of the key prefix before a value
	hash   types.Hash       // scanHash: the hash
}

// planFor returns the plan for condition c.
func planFor(sp space, c *query.Condition) plan {
	switch {
	case c.Key == sp.hashKey && sp.hashKey != "":
		if c.Op != query.OpEqual || c.Number || c.Time {
			return plan{kind: scanRecords, rank: 6}
		}
		p := plan{kind: scanHash}
		if len(c.Operand) != hex.EncodedLen(len(p.hash)) {
			return plan{kind: scanNothing}
		}
		if _, err := hex.Decode(p.hash[:], []byte(c.Operand)); err != nil {
			return plan{kind: scanNothing}
		}
		return p
	case c.Key == sp.heightKey:
		if !c.Number {
			return plan{kind: scanRecords, rank: 6}
		}
		if c.Op == query.OpEqual {
			return plan{kind: scanRecords, rank: 2}
		}
		return plan{kind: scanRecords, rank: 3}
	}
	if c.Number {
		kp := attrPrefix(sp.num, c.Key)
		at := appendNumber(bytes.Clone(kp), c.Float())
		allNums := []byte{}
		allNums = append(append(allNums, kp...), numVal)
		p := plan{kind: scanPostings, rank: 4, ranges: [][2][]byte{
			{append(bytes.Clone(kp), numNaN), bytes.Clone(allNums)}, // NaN equals every number
		}}
		switch c.Op {
		case query.OpEqual:
			p.rank = 2
			p.ranges = append(p.ranges, [2][]byte{at, prefixEnd(at)})
		case query.OpLess, query.OpLessEqual:
			p.ranges = append(p.ranges, [2][]byte{allNums, prefixEnd(at)})
		case query.OpGreater, query.OpGreaterEqual:
			p.ranges = append(p.ranges, [2][]byte{at, prefixEnd(allNums)})
		}
		return p
	}
	kp := attrPrefix(sp.str, c.Key)
	p := plan{kind: scanPostings, rank: 4, values: c, skip: len(kp)}
	all := [2][]byte{kp, prefixEnd(kp)}
	if c.Time || c.Op == query.OpContains || c.Op == query.OpExists {
		p.rank = 5
		if c.Op == query.OpExists {
			p.values = nil
		}
		p.ranges = [][2][]byte{all}
		return p
	}
	at := appendValue(bytes.Clone(kp), c.Operand)
	switch c.Op {
	case query.OpEqual:
		p.rank = 1
		p.ranges = [][2][]byte{{at, prefixEnd(at)}}
	case query.OpLess:
		p.ranges = [][2][]byte{{kp, at}}
	case query.OpLessEqual:
		p.ranges = [][2][]byte{{kp, prefixEnd(at)}}
	case query.OpGreater:
		p.ranges = [][2][]byte{{prefixEnd(at), all[1]}}
	case query.OpGreaterEqual:
		p.ranges = [][2][]byte{{at, all[1]}}
	}
	return p
}

// heightBounds returns the heights that the numeric height conditions of
// q allow, as an inclusive range; lo > hi when none.
func heightBounds(sp space, q *query.Query) (lo, hi int64) {
	lo, hi = 1, math.MaxInt64
	for _, c := range q.Conditions() {
		if c.Key != sp.heightKey || !c.Number {
			continue
		}
		f := c.Float()
		switch c.Op {
		case query.OpEqual:
			lo, hi = max(lo, ceilHeight(f)), min(hi, floorHeight(f))
		case query.OpLess:
			hi = min(hi, ceilHeight(f)-1)
		case query.OpLessEqual:
			hi = min(hi, floorHeight(f))
		case query.OpGreater:
			lo = max(lo, floorHeight(f)+1)
		case query.OpGreaterEqual:
			lo = max(lo, ceilHeight(f))
		}
	}
	return lo, hi
}

// floorHeight and ceilHeight round f to a height, clamped to [0, MaxInt64/2]
// so that adding or subtracting one cannot overflow.
func floorHeight(f float64) int64 { return clampHeight(math.Floor(f)) }
func ceilHeight(f float64) int64  { return clampHeight(math.Ceil(f)) }

func clampHeight(f float64) int64 {
	const top = math.MaxInt64 / 2
	switch {
	case f <= 0:
		return 0
	case f >= top:
		return top
	}
	return int64(f)
}

// search calls fn with the position and record of every candidate item
// for q, a superset of its matches, in ascending position order.
func (ix *Index) search(ctx context.Context, sp space, q *query.Query, fn func(pos, rec []byte) error) error {
	lo, hi := heightBounds(sp, q)
	if lo > hi {
		return nil
	}
	best := plan{kind: scanRecords, rank: 7}
	conds := q.Conditions()
	for i := range conds {
		if p := planFor(sp, &conds[i]); p.kind == scanNothing {
			return nil
		} else if p.rank < best.rank {
			best = p
		}
	}
	snap := ix.db.NewSnapshot()
	defer snap.Close()
	var positions [][]byte
	var err error
	switch best.kind {
	case scanHash:
		positions, err = ix.txPositions(ctx, snap, best.hash)
	case scanPostings:
		positions, err = postings(ctx, snap, best, lo, hi)
	default:
		return scanRecordRange(ctx, snap, sp, lo, hi, fn)
	}
	if err != nil {
		return err
	}
	return visit(ctx, snap, sp, positions, lo, hi, fn)
}

// scanRecordRange calls fn with every record at heights lo to hi.
func scanRecordRange(ctx context.Context, r pebble.Reader, sp space, lo, hi int64, fn func(pos, rec []byte) error) error {
	start := append([]byte{sp.record}, position(lo, 0)...)
	end := prefixEnd(append([]byte{sp.record}, position(hi, 0)[:8]...))
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(it.Key()[1:], it.Value()); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	return nil
}

// postings returns the sorted distinct positions, within heights lo to hi,
// of the postings in p's ranges whose values p's condition holds for.
func postings(ctx context.Context, r pebble.Reader, p plan, lo, hi int64) ([][]byte, error) {
	var out [][]byte
	n := 0
	for _, rg := range p.ranges {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: rg[0], UpperBound: rg[1]})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrIndex, err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				_ = it.Close()
				return nil, ctx.Err()
			}
			key := it.Key()
			pos, err := keyPos(key)
			if err != nil {
				_ = it.Close()
				return nil, err
			}
			if h, _, _ := decodePos(pos); h < lo || h > hi {
				continue
			}
			if p.values != nil {
				if len(key) < p.skip+posLen {
					_ = it.Close()
					return nil, fmt.Errorf("%w: posting key of %d bytes", errCorruptIndex, len(key))
				}
				v, rest, err := decodeValue(key[p.skip : len(key)-posLen])
				if err != nil || len(rest) != 0 {
					_ = it.Close()
					return nil, fmt.Errorf("%w: posting %q: %v", errCorruptIndex, key, err)
				}
				if !p.values.Matches(v) {
					continue
				}
			}
			out = append(out, bytes.Clone(pos))
		}
		if err := it.Close(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrIndex, err)
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return slices.CompactFunc(out, bytes.Equal), nil
}

// visit calls fn with the records at positions (ascending), skipping the
// ones outside heights lo to hi. One iterator seeking forward reads them,
// which costs less than a point lookup each.
func visit(ctx context.Context, r pebble.Reader, sp space, positions [][]byte, lo, hi int64, fn func(pos, rec []byte) error) error {
	if len(positions) == 0 {
		return nil
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{sp.record}, UpperBound: []byte{sp.record + 1}})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIndex, err)
	}
	defer it.Close()
	key := []byte{sp.record}
	for i, pos := range positions {
		if i%1024 == 1023 && ctx.Err() != nil {
			return ctx.Err()
		}
		if h, _, err := decodePos(pos); err != nil {
			return err
		} else if h < lo || h > hi {
			continue
		}
		key = append(key[:1], pos...)
		if !it.SeekGE(key) || !bytes.Equal(it.Key(), key) {
			if err := it.Error(); err != nil {
				return fmt.Errorf("%w: %w", ErrIndex, err)
			}
			return fmt.Errorf("%w: %w: no record at position %x", ErrIndex, errCorruptIndex, pos)
		}
		if err := fn(pos, it.Value()); err != nil {
			return err
		}
	}
	return nil
}
