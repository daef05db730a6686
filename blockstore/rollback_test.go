package blockstore

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// stateChain saves n blocks whose headers agree with the states, each with
// its results, FinalizeBlock response and next state in one batch, as the
// engine does. Block h carries validator updates if updates[h]. It returns
// the states by height (index 0: genesis) and the saved blocks.
func stateChain(t *testing.T, s *Store, n int, updates map[int64]bool) ([]*State, []saved) {
	t.Helper()
	c := newChain(t, 2, 12)
	st := testState(t, c.vals)
	if err := s.SaveState(st); err != nil {
		t.Fatal(err)
	}
	states := []*State{st}
	var blocks []saved
	for h := int64(1); h <= int64(n); h++ {
		cur := st
		c.header = func(hd *types.Header) {
			hd.ValidatorsHash = cur.Validators.Hash()
			hd.NextValidatorsHash = cur.NextValidators.Hash()
			hd.AppHash = cur.AppHash
			hd.LastResultsHash = cur.LastResultsHash
		}
		b, id, seen := c.next()
		var ups []types.ValidatorUpdate
		if updates[h] {
			seed := sha256.Sum256([]byte{0xee, byte(h)})
			ups = []types.ValidatorUpdate{{PubKey: ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), Power: 3}}
		}
		st = advance(t, st, id, ups)
		st.LastResultsHash = sha256.Sum256([]byte{byte(h)})
		batch := s.NewBatch()
		for _, save := range []func() error{
			func() error { return batch.SaveBlock(b, id, seen) },
			func() error { return batch.SaveFinalizeBlockResponse(h, []byte{byte(h)}) },
			func() error { return batch.SaveState(st) },
			batch.Commit,
		} {
			if err := save(); err != nil {
				t.Fatal(err)
			}
		}
		states = append(states, st)
		blocks = append(blocks, saved{b, id, seen})
	}
	return states, blocks
}

func checkState(t *testing.T, s *Store, want *State) {
	t.Helper()
	got, err := s.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("state after rollback:\n got %+v\nwant %+v", got, want)
	}
}

func TestRollbackSoftThenHard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		// Block 2's update changes the set of height 4; block 5's that of
		// height 7, so rolling block 5 back must find the change at 4.
		states, blocks := stateChain(t, s, 5, map[int64]bool{2: true, 5: true})
		if states[5].LastHeightValidatorsChanged != 7 || states[4].LastHeightValidatorsChanged != 4 {
			t.Fatalf("fixture: changed at %d and %d", states[5].LastHeightValidatorsChanged, states[4].LastHeightValidatorsChanged)
		}
		h, err := s.Rollback(false)
		if err != nil || h != 4 {
			t.Fatalf("Rollback = %d, %v; want 4", h, err)
		}
		checkState(t, s, states[4])
		if s.Height() != 5 {
			t.Fatalf("soft rollback changed the store height to %d", s.Height())
		}
		if _, err := s.LoadBlock(5); err != nil {
			t.Fatalf("soft rollback deleted block 5: %v", err)
		}
		if _, err := s.LoadValidators(7); !errors.Is(err, ErrNotFound) {
			t.Fatalf("validators of height 7 after rollback: %v", err)
		}
		if _, err := s.Rollback(false); !errors.Is(err, ErrCannotRollback) {
			t.Fatalf("second soft rollback = %v, want ErrCannotRollback", err)
		}
		h, err = s.Rollback(true)
		if err != nil || h != 4 {
			t.Fatalf("hard rollback after soft = %d, %v; want 4", h, err)
		}
		checkState(t, s, states[4])
		checkBlockDeleted(t, s, blocks[4])
		// The next block 5 can be saved again.
		st := states[5]
		if err := s.SaveDecided(blocks[4].block, blocks[4].id, blocks[4].seen, nil, []byte{5}, st); err != nil {
			t.Fatal(err)
		}
		checkState(t, s, st)
	})
}

// checkBlockDeleted checks that the latest block sv is gone with what was
// saved with it, and that the block before it is whole.
func checkBlockDeleted(t *testing.T, s *Store, sv saved) {
	t.Helper()
	h := sv.block.Header.Height
	if s.Height() != h-1 {
		t.Fatalf("store height %d, want %d", s.Height(), h-1)
	}
	for what, err := range map[string]error{
		"block": errOf(s.LoadBlock(h)), "by hash": errOf(s.LoadBlockByHash(sv.id.Hash)),
		"meta": errOf(s.LoadBlockMeta(h)), "seen commit": errOf(s.LoadSeenCommit(h)),
		"response": errOf(s.LoadFinalizeBlockResponse(h)),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of the deleted block: %v", what, err)
		}
	}
	for _, tx := range sv.block.Data.Txs {
		if s.HasTx(sha256.Sum256(tx)) {
			t.Errorf("tx %X of the deleted block still indexed", tx)
		}
	}
	prev, err := s.LoadBlock(h - 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range prev.Data.Txs {
		if !s.HasTx(sha256.Sum256(tx)) {
			t.Errorf("tx %X of block %d lost", tx, h-1)
		}
	}
	if seen, err := s.LoadSeenCommit(h - 1); err != nil || seen.Height != h-1 {
		t.Fatalf("seen commit of height %d: %v", h-1, err)
	}
	if c, err := s.LoadBlockCommit(h - 1); err != nil || c.Height != h-1 {
		t.Fatalf("canonical commit of height %d: %v", h-1, err)
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestRollbackHard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		states, blocks := stateChain(t, s, 3, nil)
		h, err := s.Rollback(true)
		if err != nil || h != 2 {
			t.Fatalf("Rollback(hard) = %d, %v; want 2", h, err)
		}
		checkState(t, s, states[2])
		checkBlockDeleted(t, s, blocks[2])
		h, err = s.Rollback(true)
		if err != nil || h != 1 {
			t.Fatalf("second Rollback(hard) = %d, %v; want 1", h, err)
		}
		checkState(t, s, states[1])
		checkBlockDeleted(t, s, blocks[1])
		if _, err := s.Rollback(false); !errors.Is(err, ErrCannotRollback) {
			t.Fatalf("rollback of the first block = %v, want ErrCannotRollback", err)
		}
		checkState(t, s, states[1])
	})
}

func TestRollbackRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		if _, err := s.Rollback(false); !errors.Is(err, ErrCannotRollback) {
			t.Fatalf("rollback of an empty store = %v", err)
		}
		c := newChain(t, 1, 12)
		if err := s.SaveState(testState(t, c.vals)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rollback(true); !errors.Is(err, ErrCannotRollback) {
			t.Fatalf("rollback of a genesis state = %v", err)
		}
	})
	s := backends(t)[0].open(t)
	stateChain(t, s, 4, nil)
	if _, err := s.PruneBlocks(4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rollback(false); !errors.Is(err, ErrCannotRollback) {
		t.Fatalf("rollback onto a pruned block = %v", err)
	}
}
