package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// failingCommitApp is kvstore whose Commit fails once at a chosen height,
// leaving the application one block behind the store (the crash between
// the store's batch and the application's Commit).
type failingCommitApp struct {
	*kvstore.App
	failAt  int64
	current atomic.Int64
}

func (a *failingCommitApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.current.Store(req.Height)
	return a.App.FinalizeBlock(ctx, req)
}

func (a *failingCommitApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	if a.current.Load() == a.failAt {
		return nil, errors.New("injected commit failure")
	}
	return a.App.Commit(ctx, req)
}

// lyingInfoApp reports a wrong app hash in Info.
type lyingInfoApp struct{ *kvstore.App }

func (a lyingInfoApp) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	resp, err := a.App.Info(ctx, req)
	if err == nil {
		resp.LastBlockAppHash = []byte("not the app hash")
	}
	return resp, err
}

func kvstoreIn(dir string, wrap func(*kvstore.App) app.Application) func() (app.Application, func() error, error) {
	return func() (app.Application, func() error, error) {
		a, err := kvstore.Open(filepath.Join(dir, "app"))
		if err != nil {
			return nil, nil, err
		}
		return wrap(a), a.Close, nil
	}
}

// storedAndAppHeights opens the stopped node's storage and application
// and returns the store's height and the one the application reports in
// Info, then closes them again.
func storedAndAppHeights(t *testing.T, c *cluster, nd *node) (int64, int64) {
	t.Helper()
	if err := c.open(nd); err != nil {
		t.Fatal(err)
	}
	defer func() { nd.wal.Close(); nd.store.Close(); nd.closeFn(); nd.store = nil }()
	info, err := nd.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return nd.store.Height(), info.LastBlockHeight
}

// runAlone runs a single-validator chain until height h and stops it.
func runAlone(t *testing.T, c *cluster, h int64) {
	t.Helper()
	nd := c.nodes[0]
	c.start(nd)
	c.awaitHeight(h, 30*time.Second)
	c.stop(nd)
}

// runUntilError runs the node's engine and returns what Run returns.
func runUntilError(t *testing.T, c *cluster, nd *node) error {
	t.Helper()
	eng, err := c.newEngine(nd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = eng.Run(ctx)
	nd.mu.Lock()
	nd.wal.Close()
	nd.store.Close()
	nd.closeFn()
	nd.store = nil
	nd.mu.Unlock()
	c.net.Leave(nd.id)
	return err
}

func TestAppOneBlockBehindIsReplayed(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 5)
		nd := c.nodes[0]
		nd.openApp = kvstoreIn(nd.dir, func(a *kvstore.App) app.Application { return &failingCommitApp{App: a, failAt: 4} })
		if err := runUntilError(t, c, nd); !errors.Is(err, engine.ErrApp) {
			t.Fatalf("Run = %v, want the injected Commit failure (ErrApp)", err)
		}

		// The store holds height 4, the application only 3.
		nd.openApp = nil
		if storeH, appH := storedAndAppHeights(t, c, nd); storeH != 4 || appH != 3 {
			t.Fatalf("store at %d, app at %d; want 4 and 3", storeH, appH)
		}

		c.start(nd)
		c.awaitHeight(6, 30*time.Second)
		c.stop(nd)
		if err := c.open(nd); err != nil {
			t.Fatal(err)
		}
		defer func() { nd.wal.Close(); nd.store.Close(); nd.closeFn(); nd.store = nil }()
		info, err := nd.app.Info(context.Background(), &abci.RequestInfo{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := nd.store.LoadState()
		if err != nil {
			t.Fatal(err)
		}
		if info.LastBlockHeight != st.LastBlockHeight || string(info.LastBlockAppHash) != string(st.AppHash) {
			t.Fatalf("app at %d %X, store at %d %X", info.LastBlockHeight, info.LastBlockAppHash, st.LastBlockHeight, st.AppHash)
		}
	})
}

// heldFinalizeApp executes FinalizeBlock of height at, then holds its
// answer until release is closed, or returns the caller's context error if
// that ends first, as the ABCI socket client does when a stop interrupts a
// call: the application has executed the block but its answer is lost.
type heldFinalizeApp struct {
	*kvstore.App
	at      int64
	reached chan struct{}
	release chan struct{}
}

func (a *heldFinalizeApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	resp, err := a.App.FinalizeBlock(ctx, req)
	if err != nil || req.Height != a.at {
		return resp, err
	}
	close(a.reached)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-a.release:
		return resp, nil
	}
}

// A stop that arrives while the application executes a decided block
// waits for the height to be stored and committed: the application never
// ends up a height past the block store (CometBFT's e2e app reports a
// height in Info from FinalizeBlock on, so a restart would be refused).
func TestStopDuringFinalizeBlockFinishesTheHeight(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 9)
		nd := c.nodes[0]
		held := &heldFinalizeApp{at: 3, reached: make(chan struct{}), release: make(chan struct{})}
		nd.openApp = kvstoreIn(nd.dir, func(a *kvstore.App) app.Application { held.App = a; return held })
		c.start(nd)
		await(t, 30*time.Second, "FinalizeBlock of height 3", func() bool {
			select {
			case <-held.reached:
				return true
			default:
				return false
			}
		})
		nd.cancel() // the stop, while the application holds its answer
		synctest.Wait()
		close(held.release)
		c.stop(nd)

		nd.openApp = nil
		if storeH, appH := storedAndAppHeights(t, c, nd); storeH != 3 || appH != 3 {
			t.Fatalf("after the stop: store at %d, application at %d; want both at 3", storeH, appH)
		}
		c.start(nd)
		c.awaitHeight(5, 30*time.Second)
		c.stop(nd)
	})
}

func TestAppAheadOfStoreIsRefused(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 6)
		runAlone(t, c, 3)
		nd := c.nodes[0]
		// Lose the store and the WAL but keep the application's data.
		for _, d := range []string{"store", "wal"} {
			if err := os.RemoveAll(filepath.Join(nd.dir, d)); err != nil {
				t.Fatal(err)
			}
		}
		err := runUntilError(t, c, nd)
		if !errors.Is(err, engine.ErrAppAhead) {
			t.Fatalf("Run = %v, want ErrAppAhead", err)
		}
		if !strings.Contains(err.Error(), "block store ends at height 0") {
			t.Errorf("error does not say where the store ends: %v", err)
		}
	})
}

func TestAppHashDisagreementIsRefused(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 7)
		runAlone(t, c, 3)
		nd := c.nodes[0]
		nd.openApp = kvstoreIn(nd.dir, func(a *kvstore.App) app.Application { return lyingInfoApp{a} })
		if err := runUntilError(t, c, nd); !errors.Is(err, engine.ErrAppHashMismatch) {
			t.Fatalf("Run = %v, want ErrAppHashMismatch", err)
		}
	})
}

// A node whose WAL lost a torn tail (cut mid-record) restarts, replays what
// is left and rejoins the network.
func TestTruncatedWALTailRestarts(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 8)
		c.startAll()
		c.awaitHeight(3, 30*time.Second)
		nd := c.nodes[1]
		c.stop(nd)
		path := filepath.Join(nd.dir, "wal", wal.FileName)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()-5); err != nil {
			t.Fatal(err)
		}
		before := nd.height()
		c.start(nd)
		want := max(before, c.nodes[0].height()) + 2
		c.awaitHeight(want, 30*time.Second)
		if h := c.checkSameChain(); h < want {
			t.Fatalf("common height %d, want %d", h, want)
		}
	})
}

// Messages that fail validation are reported to the transport and change
// nothing.
func TestBadMessagesAreReported(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 9)
		c.startAll()
		c.awaitHeight(2, 30*time.Second)
		nd := c.nodes[0]
		seen, err := c.nodes[1].store.LoadSeenCommit(1)
		if err != nil {
			t.Fatal(err)
		}
		// A vote for the next height with a forged signature: kept until the
		// node reaches that height, then checked and reported.
		v := *seen.VoteAt(0)
		v.Height = nd.height() + 1
		v.Signature = make([]byte, 64)
		spoof := c.net.Join("spoofer", nil)
		before := len(nd.ep.Reports())
		spoof.Broadcast(engine.VoteMsg{Vote: &v})
		spoof.Broadcast(nil) // no message at all
		await(t, 30*time.Second, "reports of the bad messages", func() bool {
			n := 0
			for _, r := range nd.ep.Reports()[before:] {
				if r.Peer == "spoofer" {
					n++
				}
			}
			return n >= 2
		})
		c.awaitHeight(nd.height()+2, 30*time.Second)
		c.checkSameChain()
	})
}

// closedTransport is a transport whose inbound channel is closed.
type closedTransport struct{ engine.Transport }

func (closedTransport) Inbound() <-chan engine.Inbound {
	ch := make(chan engine.Inbound)
	close(ch)
	return ch
}

func TestClosedTransportStopsTheEngine(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 1, 16)
		c.transport = func(tr engine.Transport) engine.Transport { return closedTransport{tr} }
		if err := runUntilError(t, c, c.nodes[0]); !errors.Is(err, engine.ErrTransportClosed) {
			t.Fatalf("Run = %v, want ErrTransportClosed", err)
		}
	})
}
