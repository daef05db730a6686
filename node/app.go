package node

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
)

// appConns is the node's connection to its application, and how to close it.
type appConns struct {
	app   app.Application
	close func() error
}

// openApp connects to the application proxy names: "kvstore" runs the
// example app in-process with its state under dbDir, using cache as its
// block cache; "tcp://…" and "unix://…" dial an ABCI socket server.
func openApp(ctx context.Context, proxy, dbDir string, cache *pebble.Cache) (*appConns, error) {
	if proxy == "kvstore" {
		kv, err := kvstore.OpenWithCache(dbDir, cache)
		if err != nil {
			return nil, fmt.Errorf("open the kvstore app in %s: %w", dbDir, err)
		}
		return &appConns{app: kv, close: kv.Close}, nil
	}
	if !strings.HasPrefix(proxy, "tcp://") && !strings.HasPrefix(proxy, "unix://") {
		return nil, fmt.Errorf("proxy_app %q: want \"kvstore\", tcp://host:port or unix:///path", proxy)
	}
	// The client opens one connection per role (consensus, mempool, query,
	// snapshot), as ABCI does.
	c, err := abcisocket.Dial(ctx, proxy, abcisocket.Options{})
	if err != nil {
		return nil, fmt.Errorf("connect to the application at %s: %w; is the app running? start it first, e.g. `bftnode app kvstore --listen %s`", proxy, err, proxy)
	}
	return &appConns{app: c, close: c.Close}, nil
}

// withAppAdvice adds what to do next to err if the out-of-process
// application failed (went away, answered garbage or did not answer).
func withAppAdvice(err error) error {
	if !errors.Is(err, abcisocket.ErrAppDead) {
		return err
	}
	return fmt.Errorf("%w; see the application's log, restart it (or fix it), then restart the node: it resumes from its stores", err)
}

// engineApp is the application as the node hands it to the engine: InitChain
// carries the genesis consensus parameters in full (the engine knows only
// those consensus uses), and the node hears of each block the engine
// commits, with the retain height the application returned: the engine
// calls Commit on the application right after the block, its results and
// the new state are durable in the block store.
type engineApp struct {
	app.Application
	params    *tmtypes.ConsensusParams
	committed func(retainHeight int64)
}

func (a engineApp) InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	withParams := *req
	withParams.ConsensusParams = a.params
	return a.Application.InitChain(ctx, &withParams)
}

func (a engineApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	resp, err := a.Application.Commit(ctx, req)
	if err == nil {
		a.committed(resp.GetRetainHeight())
	}
	return resp, err
}

// appSideMempool is the application's InsertTx and ReapTxs, as the
// app-side mempool calls them.
type appSideMempool struct{ app app.Application }

func (a appSideMempool) InsertTx(ctx context.Context, tx []byte) (uint32, error) {
	resp, err := a.app.InsertTx(ctx, &abci.RequestInsertTx{Tx: tx})
	if err != nil {
		return 0, fmt.Errorf("InsertTx: %w", err)
	}
	return resp.Code, nil
}

func (a appSideMempool) ReapTxs(ctx context.Context, maxBytes, maxGas uint64) ([][]byte, error) {
	resp, err := a.app.ReapTxs(ctx, &abci.RequestReapTxs{MaxBytes: maxBytes, MaxGas: maxGas})
	if err != nil {
		return nil, fmt.Errorf("ReapTxs: %w", err)
	}
	return resp.Txs, nil
}
