package blockstore

import (
	"errors"
	"testing"
)

// TestPruneStateRecords: pruning to retain height 5 deletes the
// FinalizeBlock responses and consensus parameters below 5 and the
// validator sets below 4 (the set of 4 signed block 5's last commit), and
// keeps the others.
func TestPruneStateRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		c := newChain(t, 1, 8)
		st := testState(t, c.vals)
		if err := s.SaveState(st); err != nil {
			t.Fatal(err)
		}
		for h := int64(1); h <= 8; h++ {
			b, id, seen := c.next()
			st = advance(t, st, id, nil)
			err := s.write(func(bt *Batch) error {
				if err := bt.SaveBlock(b, id, seen); err != nil {
					return err
				}
				if err := bt.SaveFinalizeBlockResponse(h, []byte{byte(h)}); err != nil {
					return err
				}
				return bt.SaveState(st)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.PruneBlocks(5); err != nil {
			t.Fatal(err)
		}
		if s.Base() != 5 || s.Height() != 8 {
			t.Fatalf("blocks %d..%d after pruning to 5, want 5..8", s.Base(), s.Height())
		}
		for h := int64(1); h <= 10; h++ {
			gone := map[string]bool{
				"FinalizeBlock response": h < 5 || h > 8,
				"consensus params":       h < 5 || h > 9,
				"validators":             h < 4 || h > 10,
			}
			for what, err := range map[string]error{
				"FinalizeBlock response": second(s.LoadFinalizeBlockResponse(h)),
				"consensus params":       second(s.LoadConsensusParams(h)),
				"validators":             second(s.LoadValidators(h)),
			} {
				if gone[what] != errors.Is(err, ErrNotFound) {
					t.Errorf("%s at height %d: %v; want it deleted: %v", what, h, err, gone[what])
				}
			}
		}
	})
}

// A reader that finds a height within [Base, Height] finds its records
// while pruning moves the base up one height at a time: the base rises
// before the records below it go.
func TestPruneNeverHidesAHeightInRange(t *testing.T) {
	be := backends(t)[0] // memfs: the race is in the store, not the disk
	s := be.open(t)
	const n = 300
	saveBlocks(t, s, newChain(t, 0, 0), n)
	done := make(chan error, 1)
	go func() {
		for h := int64(2); h <= n; h++ {
			if _, err := s.PruneBlocks(h); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var misses int
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if misses > 0 {
				t.Fatalf("%d times a block meta at the base was missing while the base stayed", misses)
			}
			return
		default:
		}
		base := s.Base()
		if _, err := s.LoadBlockMeta(base); errors.Is(err, ErrNotFound) && s.Base() == base {
			misses++
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
}
