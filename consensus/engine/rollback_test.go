package engine_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// recordingApp is kvstore noting the heights it executes.
type recordingApp struct {
	*kvstore.App
	mu      sync.Mutex
	heights []int64
}

func (a *recordingApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	a.heights = append(a.heights, req.Height)
	a.mu.Unlock()
	return a.App.FinalizeBlock(ctx, req)
}

func (a *recordingApp) executed() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.heights)
}

// freshApp gives the node an empty kvstore at each start: an application
// rolled back as far as it goes, which the handshake replays from genesis.
func freshApp(t *testing.T) func() (app.Application, func() error, error) {
	return func() (app.Application, func() error, error) {
		a, err := kvstore.Open(filepath.Join(t.TempDir(), "app"))
		if err != nil {
			return nil, nil, err
		}
		return a, a.Close, nil
	}
}

// rollbackStore rolls the stopped node's store back and returns the
// height it had and the block at that height.
func rollbackStore(t *testing.T, nd *node, hard bool) (int64, []byte) {
	t.Helper()
	s, err := blockstore.Open(filepath.Join(nd.dir, "store"), blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.Height()
	b, err := s.LoadBlock(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Rollback(hard)
	if err != nil || got != h-1 {
		t.Fatalf("Rollback(%v) = %d, %v; want %d", hard, got, err, h-1)
	}
	st, err := s.LoadState()
	if err != nil || st.LastBlockHeight != h-1 {
		t.Fatalf("state after rollback: %v", err)
	}
	return h, b.Header.AppHash
}

// checkContinues restarts the node and checks that it commits two more
// heights past h, on a chain whose app hashes agree with its blocks.
func checkContinues(t *testing.T, c *cluster, nd *node, h int64) {
	t.Helper()
	c.start(nd)
	c.awaitHeight(h+2, 30*time.Second)
	c.stop(nd)
	s, err := blockstore.Open(filepath.Join(nd.dir, "store"), blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.LoadState()
	if err != nil || st.LastBlockHeight != s.Height() {
		t.Fatalf("state at %v, store at %d: %v", st, s.Height(), err)
	}
	// Block k+1 names the app hash the state reached after block k.
	for k := int64(1); k < s.Height(); k++ {
		next, err := s.LoadBlock(k + 1)
		if err != nil {
			t.Fatal(err)
		}
		bz, err := s.LoadFinalizeBlockResponse(k)
		if err != nil {
			t.Fatal(err)
		}
		var resp abci.ResponseFinalizeBlock
		if err := resp.Unmarshal(bz); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.AppHash, next.Header.AppHash) {
			t.Fatalf("height %d: the stored response has app hash %X, block %d %X", k, resp.AppHash, k+1, next.Header.AppHash)
		}
	}
}

func TestRollbackSoftAppKept(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 21)
		nd := c.nodes[0]
		runAlone(t, c, 3)
		h, _ := rollbackStore(t, nd, false)
		// The application is at h, the state at h-1: the state is rebuilt from
		// the stored response of h, and h is not executed again.
		var rec *recordingApp
		nd.openApp = kvstoreIn(nd.dir, func(a *kvstore.App) app.Application { rec = &recordingApp{App: a}; return rec })
		checkContinues(t, c, nd, h)
		if got := rec.executed(); len(got) == 0 || got[0] != h+1 {
			t.Fatalf("executed heights %v after the rollback from %d, want %d first", got, h, h+1)
		}
	})
}

func TestRollbackSoftAppRolledBack(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 22)
		nd := c.nodes[0]
		nd.openApp = freshApp(t)
		runAlone(t, c, 3)
		h, _ := rollbackStore(t, nd, false)
		// Blocks up to h-1 replay; block h is executed again and its state saved.
		var rec *recordingApp
		fresh := freshApp(t)
		nd.openApp = func() (app.Application, func() error, error) {
			a, closeFn, err := fresh()
			if err != nil {
				return nil, nil, err
			}
			rec = &recordingApp{App: a.(*kvstore.App)}
			return rec, closeFn, nil
		}
		checkContinues(t, c, nd, h)
		if got := rec.executed(); len(got) < int(h) || !slices.Equal(got[:h], seq(1, h)) {
			t.Fatalf("executed heights %v after the rollback from %d, want 1..%d first", got, h, h)
		}
	})
}

func TestRollbackHard(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 23)
		nd := c.nodes[0]
		nd.openApp = freshApp(t)
		runAlone(t, c, 3)
		h, _ := rollbackStore(t, nd, true)
		checkContinues(t, c, nd, h)
	})
}

// After a hard rollback an application still at the deleted height is
// ahead of the store, and the node refuses to start.
func TestRollbackHardAppAhead(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 24)
		nd := c.nodes[0]
		runAlone(t, c, 3)
		rollbackStore(t, nd, true)
		if err := runUntilError(t, c, nd); !errors.Is(err, engine.ErrAppAhead) {
			t.Fatalf("Run = %v, want ErrAppAhead", err)
		}
	})
}

func seq(from, to int64) []int64 {
	var out []int64
	for h := from; h <= to; h++ {
		out = append(out, h)
	}
	return out
}

// With a WAL rotated at every height, a node restarts (cleanly and after a
// hard crash) and keeps committing; only the previous segment is kept.
func TestWALRotationAcrossRestarts(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 25)
		c.walMaxFileSize = 1
		nd := c.nodes[0]
		runAlone(t, c, 3)
		c.start(nd)
		h := nd.height()
		c.awaitHeight(h+2, 30*time.Second)
		c.crashHard(nd, 1)
		if err := c.open(nd); err != nil {
			t.Fatal(err)
		}
		h = nd.store.Height()
		nd.wal.Close()
		nd.store.Close()
		nd.closeFn()
		nd.store = nil
		runAlone(t, c, h+2)
		files, err := wal.Files(filepath.Join(nd.dir, "wal"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 2 || filepath.Base(files[1]) != wal.FileName {
			t.Fatalf("WAL files %v, want one rotated segment and the head", files)
		}
	})
}
