package engine_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/mempool"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// The BlockStore port holds the same chain whether the real Pebble store
// or its in-memory fake is behind it: a lone validator commits a few
// heights, and each store answers for every height with the block, its
// commits, the FinalizeBlock response whose app hash the next header
// carries, the validators that signed it, the state after the last block,
// and refuses a block that does not follow its last or comes with
// another block's commit.
func TestBlockStorePort(t *testing.T) {
	for _, mem := range []bool{false, true} {
		name := map[bool]string{false: "pebble", true: "mem"}[mem]
		t.Run(name, func(t *testing.T) {
			simTest(t, func(t *testing.T) {
				var empty engine.BlockStore = engine.NewMemStore()
				if !mem {
					s, err := blockstore.Open(filepath.Join(t.TempDir(), "store"), blockstore.Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					empty = s
				}
				if _, err := empty.LoadState(); !errors.Is(err, blockstore.ErrNotFound) {
					t.Fatalf("state of an empty store: %v, want ErrNotFound", err)
				}

				c := newCluster(t, 1, 40)
				c.memStore = mem
				nd := c.nodes[0]
				c.start(nd)
				tx := []byte("port=1")
				if err := nd.submit(tx); err != nil {
					t.Fatal(err)
				}
				c.awaitHeight(4, 30*time.Second)
				c.stop(nd)
				if err := c.open(nd); err != nil { // read it back from disk
					t.Fatal(err)
				}
				defer func() { nd.wal.Close(); nd.store.Close(); nd.closeFn() }()
				checkStoredChain(t, nd.store, tx)
			})
		})
	}
}

// checkStoredChain checks what the engine saved in s through the port.
func checkStoredChain(t *testing.T, s nodeStore, tx []byte) {
	t.Helper()
	top := s.Height()
	if s.Base() != 1 || top < 4 {
		t.Fatalf("store holds heights %d to %d, want 1 to at least 4", s.Base(), top)
	}
	st, err := s.LoadState()
	if err != nil || st.LastBlockHeight != top {
		t.Fatalf("state: %+v, %v; want the state after height %d", st, err, top)
	}
	var prev *types.Block
	for h := int64(1); h <= top; h++ {
		b, err := s.LoadBlock(h)
		if err != nil || b.Header.Height != h {
			t.Fatalf("block %d: %v", h, err)
		}
		id, err := types.MakeBlockID(b)
		if err != nil {
			t.Fatal(err)
		}
		if seen, err := s.LoadSeenCommit(h); err != nil || seen.BlockID != id {
			t.Fatalf("seen commit %d: %v, %v; want one for %v", h, seen, err, id)
		}
		if prev != nil {
			c, err := s.LoadBlockCommit(h - 1)
			if err != nil || c.BlockID != b.LastCommit.BlockID || c.Height != h-1 {
				t.Fatalf("commit of height %d: %v, %v; want block %d's last commit", h-1, c, err, h)
			}
			if resp := finalizeResponse(t, s, h-1); !bytes.Equal(resp.AppHash, b.Header.AppHash) {
				t.Fatalf("response of height %d has app hash %X, block %d's header %X", h-1, resp.AppHash, h, b.Header.AppHash)
			}
		}
		vals, err := s.LoadValidators(h)
		if err != nil || vals.Hash() != b.Header.ValidatorsHash {
			t.Fatalf("validators of height %d: %v; hash differs from the header's", h, err)
		}
		prev = b
	}
	if resp := finalizeResponse(t, s, top); !bytes.Equal(resp.AppHash, st.AppHash) {
		t.Fatalf("last response's app hash %X, state's %X", resp.AppHash, st.AppHash)
	}
	if !s.HasTx(mempool.TxHash(tx)) {
		t.Fatal("the committed tx is not found by hash")
	}
	if _, err := s.LoadBlock(top + 1); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("block past the top: %v, want ErrNotFound", err)
	}
	// A block that does not follow the last is refused, and nothing moves.
	b, err := s.LoadBlock(2)
	if err != nil {
		t.Fatal(err)
	}
	id, err := types.MakeBlockID(b)
	if err != nil {
		t.Fatal(err)
	}
	seen, err := s.LoadSeenCommit(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDecided(b, id, seen, nil, []byte{}, st); !errors.Is(err, blockstore.ErrNonContiguous) {
		t.Fatalf("saving height 2 again: %v, want ErrNonContiguous", err)
	}
	// So is a block with a commit for another.
	other, err := s.LoadSeenCommit(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDecided(b, id, other, nil, []byte{}, st); !errors.Is(err, blockstore.ErrInvalidArgument) {
		t.Fatalf("saving block 2 with the commit of 3: %v, want ErrInvalidArgument", err)
	}
	if s.Height() != top {
		t.Fatalf("height %d after a refused save, want %d", s.Height(), top)
	}
	// Executing the top block again replaces its response and the state.
	again := *st
	again.AppHash = []byte("again")
	if err := s.SaveExecuted(top, []byte("response again"), &again); err != nil {
		t.Fatal(err)
	}
	if bz, err := s.LoadFinalizeBlockResponse(top); err != nil || string(bz) != "response again" {
		t.Fatalf("response after SaveExecuted: %q, %v", bz, err)
	}
	if got, err := s.LoadState(); err != nil || string(got.AppHash) != "again" {
		t.Fatalf("state after SaveExecuted: %v", err)
	}
}

func finalizeResponse(t *testing.T, s nodeStore, h int64) *abci.ResponseFinalizeBlock {
	t.Helper()
	bz, err := s.LoadFinalizeBlockResponse(h)
	if err != nil {
		t.Fatalf("FinalizeBlock response %d: %v", h, err)
	}
	var resp abci.ResponseFinalizeBlock
	if err := resp.Unmarshal(bz); err != nil {
		t.Fatalf("FinalizeBlock response %d: %v", h, err)
	}
	return &resp
}
