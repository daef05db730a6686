package evidence

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/internal/pebbleopts"
	"github.com/bftnode/bftnode/types"
)

// Keys: pendingPrefix + hash holds a pending evidence (its
// tendermint.types.Evidence encoding); committedPrefix + hash marks a
// committed one, holding its height and time (zigzag varints: height, Unix
// seconds, nanoseconds) so it can be pruned once expired.
const (
	pendingPrefix   = 'p'
	committedPrefix = 'c'
)

func key(prefix byte, h types.Hash) []byte { return append([]byte{prefix}, h[:]...) }

// Options configure Open.
type Options struct {
	// FS is the filesystem the database lives on; nil means the operating
	// system's. Tests use vfs.NewMem().
	FS vfs.FS
	// Logger receives the database engine's messages; nil discards them.
	Logger *slog.Logger
	// Cache is the block cache, maybe shared with other databases; nil
	// gives the pool one of its own.
	Cache *pebble.Cache
}

// Metrics are the pool's counters.
type Metrics struct {
	Pending      int               // evidence waiting for a block
	PendingBytes int64             // their encoded size
	Committed    uint64            // evidence marked committed since Open
	Rejected     map[string]uint64 // refusals since Open, by Reason
}

type entry struct {
	ev      types.Evidence
	hash    types.Hash
	encoded []byte
	seq     uint64 // order of arrival in this process, for PendingAfter
}

// Pool holds verified evidence until it is committed. It is safe for
// concurrent use.
type Pool struct {
	db    *pebble.DB
	chain Chain

	mu        sync.Mutex
	pending   map[types.Hash]entry
	seq       uint64        // the last entry's seq
	more      chan struct{} // closed (and replaced) when evidence is added
	committed uint64
	rejected  map[string]uint64
}

// Open opens (creating if needed) the pool's database in dir and loads the
// pending evidence.
func Open(dir string, chain Chain, opts Options) (*Pool, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := pebble.Open(dir, pebbleopts.Options(pebbleopts.Config{FS: opts.FS, Logger: logger, Cache: opts.Cache}))
	if err != nil {
		return nil, fmt.Errorf("evidence: open %s: %w", dir, err)
	}
	p := &Pool{db: db, chain: chain, pending: map[types.Hash]entry{}, more: make(chan struct{}), rejected: map[string]uint64{}}
	if err := p.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return p, nil
}

func (p *Pool) load() error {
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pendingPrefix}, UpperBound: []byte{pendingPrefix + 1}})
	if err != nil {
		return fmt.Errorf("evidence: read pending: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		b := bytes.Clone(it.Value())
		ev, err := types.DecodeEvidence(b)
		var h types.Hash
		if err == nil {
			h = ev.Hash()
		}
		if err != nil || !bytes.Equal(it.Key(), key(pendingPrefix, h)) {
			return errors.Join(fmt.Errorf("%w: pending evidence at key %X: %v (move the evidence directory away to start with an empty pool)", ErrCorrupt, it.Key(), err), it.Close())
		}
		p.keep(entry{ev: ev, hash: h, encoded: b})
	}
	return it.Close()
}

// Close closes the database.
func (p *Pool) Close() error { return p.db.Close() }

// Add verifies ev against the chain and keeps it until it is committed.
// Evidence already pending is accepted again without effect; committed,
// expired or invalid evidence is refused (see Reason).
func (p *Pool) Add(ev types.Evidence) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.add(p.chain.State(), ev)
	p.count(err)
	return err
}

func (p *Pool) add(st State, ev types.Evidence) error {
	if err := ev.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h := ev.Hash()
	b := types.EncodeEvidence(ev)
	pending, ok := p.pending[h]
	if ok && bytes.Equal(pending.encoded, b) {
		return nil
	}
	if err := p.checkNotCommitted(h, ev); err != nil {
		return err
	}
	// Light client attacks that differ in their commit or validators hash
	// alike: another form of a pending one is verified before it is
	// taken as the same.
	if err := verify(p.chain, st, ev); err != nil || ok {
		return err
	}
	if err := p.db.Set(key(pendingPrefix, h), b, pebble.Sync); err != nil {
		return fmt.Errorf("evidence: store %s: %w", ev, err)
	}
	p.keep(entry{ev: ev, hash: h, encoded: b})
	return nil
}

// keep puts e among the pending, after every entry already there, and
// wakes the PendingAfter waiters.
func (p *Pool) keep(e entry) {
	p.seq++
	e.seq = p.seq
	p.pending[e.hash] = e
	close(p.more)
	p.more = make(chan struct{})
}

// Batch is what PendingAfter returns: pending evidence in order of
// arrival, the cursor to pass next time, and a channel closed when more
// evidence arrives.
type Batch struct {
	Evidence []types.Evidence
	Next     uint64
	Wait     <-chan struct{}
}

// PendingAfter is the pending evidence that arrived after cursor after
// (0: all of it), at most limit pieces, oldest first; expired evidence is
// left out. Evidence gossip streams the pool to each peer with it, so a
// peer is sent each piece once.
func (p *Pool) PendingAfter(after uint64, limit int) Batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := Batch{Next: after, Wait: p.more}
	if p.seq <= after {
		return b
	}
	st := p.chain.State()
	var newer []entry
	for _, e := range p.pending {
		if e.seq > after {
			newer = append(newer, e)
		}
	}
	slices.SortFunc(newer, func(x, y entry) int { return cmp.Compare(x.seq, y.seq) })
	if len(newer) > limit {
		newer = newer[:limit]
	}
	for _, e := range newer {
		b.Next = e.seq
		if !Expired(st, e.ev.Height(), e.ev.Time()) {
			b.Evidence = append(b.Evidence, e.ev)
		}
	}
	if len(newer) < limit {
		b.Next = p.seq // nothing newer is pending: skip what was committed
	}
	return b
}

func (p *Pool) checkNotCommitted(h types.Hash, ev types.Evidence) error {
	_, closer, err := p.db.Get(key(committedPrefix, h))
	switch {
	case err == nil:
		_ = closer.Close() // closing a read handle only releases it
		return fmt.Errorf("%w: %s (hash %X)", ErrCommitted, ev, h[:6])
	case errors.Is(err, pebble.ErrNotFound):
		return nil
	}
	return fmt.Errorf("evidence: read %X: %w", h[:6], err)
}

func (p *Pool) count(err error) {
	if err != nil {
		p.rejected[Reason(err)]++
	}
}

// sortedPending is the pending evidence by height, then hash.
func (p *Pool) sortedPending() []entry {
	out := slices.Collect(maps.Values(p.pending))
	slices.SortFunc(out, func(a, b entry) int {
		if c := a.ev.Height() - b.ev.Height(); c != 0 {
			return int(min(max(c, -1), 1))
		}
		return bytes.Compare(a.hash[:], b.hash[:])
	})
	return out
}

// Pending is the evidence for a proposer's block, oldest first, at most
// maxBytes in all (encoded); a negative maxBytes means no limit. Evidence
// that has expired since it was added is left out.
func (p *Pool) Pending(maxBytes int64) types.EvidenceList {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) == 0 {
		// The usual case, on every proposal: no chain state to read.
		return nil
	}
	st := p.chain.State()
	var out types.EvidenceList
	var size int64
	for _, e := range p.sortedPending() {
		if Expired(st, e.ev.Height(), e.ev.Time()) {
			continue
		}
		if maxBytes >= 0 && size+int64(len(e.encoded)) > maxBytes {
			break
		}
		size += int64(len(e.encoded))
		out = append(out, e.ev)
	}
	return out
}

// CheckBlockEvidence checks the evidence of a proposed block: within the
// parameters' max_bytes, no evidence twice, none already committed, each
// one valid (pending evidence was verified when added). New valid evidence
// joins the pool. The error names the first evidence refused and why.
func (p *Pool) CheckBlockEvidence(list types.EvidenceList) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.checkBlock(p.chain.State(), list)
	p.count(err)
	return err
}

func (p *Pool) checkBlock(st State, list types.EvidenceList) error {
	seen := make(map[types.Hash]bool, len(list))
	var size int64
	for i, ev := range list {
		if err := ev.ValidateBasic(); err != nil {
			return fmt.Errorf("%w: evidence %d: %w", ErrInvalid, i, err)
		}
		h := ev.Hash()
		if seen[h] {
			return fmt.Errorf("%w: evidence %d, %s", ErrDuplicate, i, ev)
		}
		seen[h] = true
		if size += int64(len(types.EncodeEvidence(ev))); size > st.Params.MaxBytes {
			return fmt.Errorf("%w: %d bytes at evidence %d, max_bytes %d", ErrTooLarge, size, i, st.Params.MaxBytes)
		}
	}
	for i, ev := range list {
		if err := p.add(st, ev); err != nil {
			return fmt.Errorf("evidence %d: %w", i, err)
		}
	}
	return nil
}

// MarkCommitted records that the block at height committed list: it
// leaves the pending evidence and is refused from now on. Call it once
// Chain.State includes that block: expired pending and committed evidence
// is then pruned.
func (p *Pool) MarkCommitted(height int64, list types.EvidenceList) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.db.NewBatch()
	defer b.Close()
	for _, ev := range list {
		h := ev.Hash()
		if err := b.Delete(key(pendingPrefix, h), nil); err != nil {
			return fmt.Errorf("evidence: commit at height %d: %w", height, err)
		}
		if err := b.Set(key(committedPrefix, h), committedValue(ev), nil); err != nil {
			return fmt.Errorf("evidence: commit at height %d: %w", height, err)
		}
	}
	if err := p.prune(b, p.chain.State()); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("evidence: commit at height %d: %w", height, err)
	}
	for _, ev := range list {
		delete(p.pending, ev.Hash())
	}
	p.committed += uint64(len(list))
	return nil
}

func committedValue(ev types.Evidence) []byte {
	t := ev.Time()
	b := binary.AppendVarint(nil, ev.Height())
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendVarint(b, int64(t.Nanosecond()))
}

func parseCommitted(v []byte) (height int64, t time.Time, ok bool) {
	var n [3]int64
	for i := range n {
		x, k := binary.Varint(v)
		if k <= 0 {
			return 0, time.Time{}, false
		}
		n[i], v = x, v[k:]
	}
	return n[0], time.Unix(n[1], n[2]).UTC(), len(v) == 0
}

// prune adds to b the deletion of expired pending evidence and of the
// marks of expired committed evidence, and drops the pending from memory
// once b is built (a failed commit only leaves expired evidence behind,
// which Pending skips and verify refuses).
func (p *Pool) prune(b *pebble.Batch, st State) error {
	for h, e := range p.pending {
		if Expired(st, e.ev.Height(), e.ev.Time()) {
			if err := b.Delete(key(pendingPrefix, h), nil); err != nil {
				return fmt.Errorf("evidence: prune: %w", err)
			}
			delete(p.pending, h)
		}
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{committedPrefix}, UpperBound: []byte{committedPrefix + 1}})
	if err != nil {
		return fmt.Errorf("evidence: prune: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		height, t, ok := parseCommitted(it.Value())
		if !ok {
			return errors.Join(fmt.Errorf("%w: committed mark at key %X", ErrCorrupt, it.Key()), it.Close())
		}
		if Expired(st, height, t) {
			if err := b.Delete(bytes.Clone(it.Key()), nil); err != nil {
				return errors.Join(fmt.Errorf("evidence: prune: %w", err), it.Close())
			}
		}
	}
	return it.Close()
}

// Metrics returns the pool's counters.
func (p *Pool) Metrics() Metrics {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := Metrics{Pending: len(p.pending), Committed: p.committed, Rejected: maps.Clone(p.rejected)}
	for _, e := range p.pending {
		m.PendingBytes += int64(len(e.encoded))
	}
	return m
}
