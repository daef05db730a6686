package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// appConns is the node's connection to its application, and how to close it.
type appConns struct {
	app   app.Application
	close func() error
}

// openApp connects to the application proxy names: "kvstore" runs the
// example app in-process with its state under dbDir; "tcp://…" and
// "unix://…" dial an ABCI socket server.
func openApp(ctx context.Context, proxy, dbDir string) (*appConns, error) {
	if proxy == "kvstore" {
		kv, err := kvstore.Open(dbDir)
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

// commitHook wraps the consensus connection so the node hears of each
// block the engine commits: the engine calls Commit on the application
// right after the block, its results and the new state are durable in the
// block store.
type commitHook struct {
	app.Application
	committed func()
}

func (h commitHook) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	resp, err := h.Application.Commit(ctx, req)
	if err == nil {
		h.committed()
	}
	return resp, err
}
