package blockstore

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bftnode/bftnode/internal/pebbleopts"
)

// txLookup answers HasTx from one Pebble iterator kept between lookups:
// making an iterator (and its per-table iterators) cost about as much as
// the seek itself, and the mempool asks for every tx it is offered, some
// thousands a second under load. An iterator sees the database as it was
// when made, so every commit of the store drops it (reset), and the next
// lookup makes a new one; none is ever older than the latest write, and
// none pins tables that compactions have replaced for longer than that.
type txLookup struct {
	mu sync.Mutex
	it *pebble.Iterator // nil until the first lookup after a reset
}

// has reports whether key is in db.
func (l *txLookup) has(db *pebble.DB, key []byte) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.it == nil {
		it, err := pebbleopts.NewHasIter(db)
		if err != nil {
			return false, err
		}
		l.it = it
	}
	found, err := pebbleopts.SeekHas(l.it, key)
	if err != nil {
		l.resetLocked()
	}
	return found, err
}

// reset drops the iterator, after a write or before the database closes.
func (l *txLookup) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resetLocked()
}

func (l *txLookup) resetLocked() {
	if l.it != nil {
		_ = l.it.Close() // its error is the last seek's, already returned
		l.it = nil
	}
}
