package blockstore

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bftnode/bftnode/types"
)

func TestSaveAndLoadBlocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		if s.Base() != 0 || s.Height() != 0 {
			t.Fatalf("empty store has base %d height %d", s.Base(), s.Height())
		}
		c := newChain(t, 5, 40)
		blocks := saveBlocks(t, s, c, 10)
		checkBlocks(t, s, blocks, 1)
		if _, err := s.LoadBlockCommit(10); !errors.Is(err, ErrNotFound) {
			t.Fatalf("canonical commit of the last block: %v, want ErrNotFound", err)
		}
		if _, err := s.LoadBlock(11); !errors.Is(err, ErrNotFound) {
			t.Fatalf("block 11: %v, want ErrNotFound", err)
		}
		if _, err := s.LoadBlockByHash(types.Hash{1}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown hash: %v, want ErrNotFound", err)
		}
		unknown := sha256.Sum256([]byte("never committed"))
		if loc, ok, err := s.TxByHash(unknown); ok || err != nil {
			t.Fatalf("unknown tx: %v %v %v", loc, ok, err)
		}
		if s.HasTx(unknown) {
			t.Fatal("HasTx of an unknown tx")
		}
	})
}

// checkBlocks checks every way of reading back blocks, which start at
// height base, the last one being the store's latest.
func checkBlocks(t *testing.T, s *Store, blocks []saved, base int64) {
	t.Helper()
	if s.Base() != base || s.Height() != base+int64(len(blocks))-1 {
		t.Fatalf("base %d height %d, want %d %d", s.Base(), s.Height(), base, base+int64(len(blocks))-1)
	}
	for i, want := range blocks {
		h := want.block.Header.Height
		got, err := s.LoadBlock(h)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want.block) {
			t.Fatalf("block %d differs:\n got %+v\nwant %+v", h, got, want.block)
		}
		if got, err = s.LoadBlockByHash(want.id.Hash); err != nil || got.Header.Height != h {
			t.Fatalf("block %d by hash: %v", h, err)
		}
		meta, err := s.LoadBlockMeta(h)
		if err != nil {
			t.Fatal(err)
		}
		if meta.BlockID != want.id || meta.Header.Hash() != want.id.Hash || meta.NumTxs != int64(len(want.block.Data.Txs)) || meta.BlockSize <= 0 {
			t.Fatalf("meta %d: %+v", h, meta)
		}
		seen, err := s.LoadSeenCommit(h)
		if err != nil || !reflect.DeepEqual(seen, want.seen) {
			t.Fatalf("seen commit %d: %v\n got %+v\nwant %+v", h, err, seen, want.seen)
		}
		if i+1 < len(blocks) {
			cm, err := s.LoadBlockCommit(h)
			if err != nil || !reflect.DeepEqual(cm, blocks[i+1].block.LastCommit) {
				t.Fatalf("canonical commit %d: %v", h, err)
			}
		}
		for j, tx := range want.block.Data.Txs {
			hash := sha256.Sum256(tx)
			loc, ok, err := s.TxByHash(hash)
			if err != nil || !ok || loc != (TxLocation{Height: h, Index: uint32(j)}) {
				t.Fatalf("tx %d of block %d: %+v %v %v", j, h, loc, ok, err)
			}
			if !s.HasTx(hash) {
				t.Fatalf("HasTx(tx %d of block %d) is false", j, h)
			}
		}
	}
}

func TestSaveBlockRejectsBadArguments(t *testing.T) {
	s := backends(t)[0].open(t)
	c := newChain(t, 1, 12)
	saveBlocks(t, s, c, 2)
	b3, id3, seen3 := c.next()
	b4, id4, seen4 := c.next()
	for _, tc := range []struct {
		name  string
		save  func() error
		want  error
		wants string
	}{
		{"gap", func() error { return s.SaveBlock(b4, id4, seen4) }, ErrNonContiguous, "height 4 after height 2"},
		{"wrong block ID", func() error { return s.SaveBlock(b3, id4, seen3) }, ErrInvalidArgument, "block ID"},
		{"seen commit for another block", func() error { return s.SaveBlock(b3, id3, seen4) }, ErrInvalidArgument, "seen commit"},
		{"no seen commit", func() error { return s.SaveBlock(b3, id3, nil) }, ErrInvalidArgument, "seen commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.save()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.wants)
			}
			if s.Height() != 2 {
				t.Fatalf("height %d after a rejected save", s.Height())
			}
		})
	}
}

func TestBatchIsAtomic(t *testing.T) {
	s := backends(t)[0].open(t)
	c := newChain(t, 3, 20)
	b1, id1, seen1 := c.next()
	b2, id2, seen2 := c.next()
	st := testState(t, c.vals)

	t.Run("closed without commit", func(t *testing.T) {
		batch := s.NewBatch()
		if err := batch.SaveBlock(b1, id1, seen1); err != nil {
			t.Fatal(err)
		}
		if err := batch.SaveState(st); err != nil {
			t.Fatal(err)
		}
		batch.Close()
		checkEmpty(t, s, b1)
	})
	t.Run("failing in the middle", func(t *testing.T) {
		err := s.SaveDecided(b1, id1, seen1, nil, []byte("response"), &State{Validators: &types.ValidatorSet{}, LastResultsHash: types.Hash{}, LastBlockTime: blockTime(0).AddDate(9000, 0, 0)})
		if err == nil {
			t.Fatal("a state with an unencodable time was saved")
		}
		checkEmpty(t, s, b1)
	})
	t.Run("two blocks and the state in one batch", func(t *testing.T) {
		batch := s.NewBatch()
		for _, sv := range []saved{{b1, id1, seen1}, {b2, id2, seen2}} {
			if err := batch.SaveBlock(sv.block, sv.id, sv.seen); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.SaveState(st); err != nil {
			t.Fatal(err)
		}
		if err := batch.Commit(); err != nil {
			t.Fatal(err)
		}
		checkBlocks(t, s, []saved{{b1, id1, seen1}, {b2, id2, seen2}}, 1)
		if _, err := s.LoadState(); err != nil {
			t.Fatal(err)
		}
	})
}

// checkEmpty checks that nothing of b, nor any state, is in s.
func checkEmpty(t *testing.T, s *Store, b *types.Block) {
	t.Helper()
	if s.Base() != 0 || s.Height() != 0 {
		t.Fatalf("base %d height %d", s.Base(), s.Height())
	}
	if _, err := s.LoadBlock(b.Header.Height); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block: %v", err)
	}
	if _, err := s.LoadSeenCommit(b.Header.Height); !errors.Is(err, ErrNotFound) {
		t.Fatalf("seen commit: %v", err)
	}
	if s.HasTx(sha256.Sum256(b.Data.Txs[0])) {
		t.Fatal("tx indexed")
	}
	if _, err := s.LoadState(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("state: %v", err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s, err := Open(be.dir, be.opts)
		if err != nil {
			t.Fatal(err)
		}
		c := newChain(t, 4, 30)
		blocks := saveBlocks(t, s, c, 8)
		st := testState(t, c.vals)
		if err := s.SaveState(st); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PruneBlocks(3); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = be.open(t)
		checkBlocks(t, s, blocks[2:], 3)
		got, err := s.LoadState()
		if err != nil || !reflect.DeepEqual(got, st) {
			t.Fatalf("state: %v\n got %+v\nwant %+v", err, got, st)
		}
		saveBlocks(t, s, c, 1) // and it goes on from height 8
	})
}

func TestPruneBlocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := be.open(t)
		c := newChain(t, 2, 16)
		blocks := saveBlocks(t, s, c, 10)

		pruned, err := s.PruneBlocks(4)
		if err != nil || pruned != 3 {
			t.Fatalf("pruned %d, %v; want 3", pruned, err)
		}
		checkBlocks(t, s, blocks[3:], 4)
		for _, b := range blocks[:3] {
			h := b.block.Header.Height
			for what, err := range map[string]error{
				"block":         second(s.LoadBlock(h)),
				"block by hash": second(s.LoadBlockByHash(b.id.Hash)),
				"meta":          second(s.LoadBlockMeta(h)),
				"commit":        second(s.LoadBlockCommit(h)),
				"seen commit":   second(s.LoadSeenCommit(h)),
			} {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("%s at pruned height %d: %v, want ErrNotFound", what, h, err)
				}
			}
			// The tx index is kept: a pruned tx is still known as committed.
			if !s.HasTx(sha256.Sum256(b.block.Data.Txs[0])) {
				t.Errorf("tx of pruned block %d forgotten", h)
			}
		}

		if n, err := s.PruneBlocks(2); n != 0 || err != nil {
			t.Fatalf("pruning below the base: %d, %v", n, err)
		}
		for _, retain := range []int64{0, 11} {
			if _, err := s.PruneBlocks(retain); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("retain %d: %v, want ErrInvalidArgument", retain, err)
			}
		}
		if n, err := s.PruneBlocks(10); n != 6 || err != nil {
			t.Fatalf("pruning to the last block: %d, %v", n, err)
		}
		checkBlocks(t, s, blocks[9:], 10)
		saveBlocks(t, s, c, 1)
	})
}

func second[T any](_ T, err error) error { return err }

// loadRaw reads key, for its error: nil or ErrNotFound.
func loadRaw(s *Store, key []byte) error {
	return s.get(key, fmt.Sprintf("key %X", key), func([]byte) error { return nil })
}

func TestFinalizeResponse(t *testing.T) {
	s := backends(t)[0].open(t)
	if err := s.SaveFinalizeBlockResponse(7, []byte("response")); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.LoadFinalizeBlockResponse(7); err != nil || string(resp) != "response" {
		t.Fatalf("FinalizeBlock response %q, %v", resp, err)
	}
	if _, err := s.LoadFinalizeBlockResponse(8); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing response: %v", err)
	}
}

func TestCorruptValues(t *testing.T) {
	s := backends(t)[0].open(t)
	c := newChain(t, 1, 12)
	blocks := saveBlocks(t, s, c, 3)
	if err := s.SaveState(testState(t, c.vals)); err != nil {
		t.Fatal(err)
	}
	txHash := sha256.Sum256(blocks[0].block.Data.Txs[0])
	garbage := []byte{0xff, 0xff, 0xff}
	shortHash := []byte{0x0a, 0x02, 0x01, 0x02} // field 1 (a hash) of 2 bytes: decodes, but does not convert
	for _, tc := range []struct {
		name  string
		key   []byte
		value []byte
		load  func() error
		wants string
	}{
		{"block", heightKey(kindBlock, 2), garbage, func() error { return second(s.LoadBlock(2)) }, "block at height 2"},
		{"block by hash", heightKey(kindBlock, 2), garbage, func() error { return second(s.LoadBlockByHash(blocks[1].id.Hash)) }, "block at height 2"},
		{"hash index", hashKey(prefixBlockHash, blocks[1].id.Hash), garbage, func() error { return second(s.LoadBlockByHash(blocks[1].id.Hash)) }, "height of block"},
		{"meta", heightKey(kindBlockMeta, 2), shortHash, func() error { return second(s.LoadBlockMeta(2)) }, "block meta at height 2"},
		{"commit", heightKey(kindCommit, 1), garbage, func() error { return second(s.LoadBlockCommit(1)) }, "commit at height 1"},
		{"seen commit", heightKey(kindSeenCommit, 3), garbage, func() error { return second(s.LoadSeenCommit(3)) }, "seen commit at height 3"},
		{"tx location", hashKey(prefixTx, txHash), garbage, func() error { _, _, err := s.TxByHash(txHash); return err }, "location of tx"},
		{"state", stateKey(), garbage, func() error { return second(s.LoadState()) }, "state"},
		{"validators", heightKey(kindValidators, 1), shortHash, func() error { return second(s.LoadValidators(1)) }, "validators at height 1"},
		{"pruning over a corrupt meta", heightKey(kindBlockMeta, 1), garbage, func() error { return second(s.PruneBlocks(2)) }, "block meta"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.db.Set(tc.key, tc.value, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			err := tc.load()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("got %v, want ErrCorrupt naming %q", err, tc.wants)
			}
		})
	}
	if !s.HasTx(txHash) {
		t.Fatal("HasTx is false for a tx whose index entry is corrupt")
	}
}

func TestOpenWithCorruptStoreState(t *testing.T) {
	be := backends(t)[0]
	s, err := Open(be.dir, be.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Set(storeStateKey(), []byte{0xff}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(be.dir, be.opts); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

// TestHasTxSeesEachCommit: HasTx keeps its iterator between lookups, and a
// lookup made before a block is saved must not hide the block's txs after.
func TestHasTxSeesEachCommit(t *testing.T) {
	s := backends(t)[0].open(t)
	c := newChain(t, 3, 40)
	for h := int64(1); h <= 3; h++ {
		hash := sha256.Sum256(c.tx(h, 0))
		if s.HasTx(hash) {
			t.Fatalf("HasTx of a tx of block %d before it was saved", h)
		}
		saveBlocks(t, s, c, 1)
		if !s.HasTx(hash) {
			t.Fatalf("HasTx of a tx of block %d after it was saved is false", h)
		}
	}
	// The cleanup closes the store with the last lookup's iterator open.
}
