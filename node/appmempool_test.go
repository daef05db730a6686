package node

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/config"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/rpc"
)

// appSideKV is the kvstore with a mempool of its own: CheckTx and InsertTx
// add to it, ReapTxs returns it, PrepareProposal proposes those of its txs
// that came through InsertTx (so a tx is committed only once gossip has
// carried it to another node), and FinalizeBlock drops the committed txs.
type appSideKV struct {
	*kvstore.App
	mu              sync.Mutex
	pool            [][]byte
	inserted        []string
	proposedNodeTxs int // PrepareProposal calls where the node passed txs
}

func (a *appSideKV) add(tx []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.ContainsFunc(a.pool, func(p []byte) bool { return string(p) == string(tx) }) {
		a.pool = append(a.pool, tx)
	}
}

func (a *appSideKV) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	resp, err := a.App.CheckTx(ctx, req)
	if err == nil && resp.Code == 0 {
		a.add(req.Tx)
	}
	return resp, err
}

func (a *appSideKV) InsertTx(_ context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	a.add(req.Tx)
	a.mu.Lock()
	a.inserted = append(a.inserted, string(req.Tx))
	a.mu.Unlock()
	return &abci.ResponseInsertTx{}, nil
}

func (a *appSideKV) ReapTxs(context.Context, *abci.RequestReapTxs) (*abci.ResponseReapTxs, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseReapTxs{Txs: slices.Clone(a.pool)}, nil
}

func (a *appSideKV) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(req.Txs) > 0 {
		a.proposedNodeTxs++
	}
	var txs [][]byte
	for _, tx := range a.pool {
		if slices.Contains(a.inserted, string(tx)) {
			txs = append(txs, tx)
		}
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

func (a *appSideKV) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	a.pool = slices.DeleteFunc(a.pool, func(p []byte) bool {
		return slices.ContainsFunc(req.Txs, func(tx []byte) bool { return string(tx) == string(p) })
	})
	a.mu.Unlock()
	return a.App.FinalizeBlock(ctx, req)
}

func (a *appSideKV) state() (inserted []string, proposedNodeTxs int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.inserted), a.proposedNodeTxs
}

// TestAppSideMempool: two validators with [mempool] type = "app", their
// applications behind bftnode's ABCI socket client. A tx submitted to
// node0 reaches its application's CheckTx, node0 gossips it from ReapTxs,
// node1 hands it to its application's InsertTx, and it is committed; the
// nodes' own mempools stay empty and PrepareProposal never gets txs from
// the node. The same tx submitted again is refused as already seen.
func TestAppSideMempool(t *testing.T) {
	cfgs := testnet(t, 2, 0)
	apps := make([]*appSideKV, len(cfgs))
	for i := range cfgs {
		apps[i] = &appSideKV{App: openKVStore(t)}
		cfgs[i].ProxyApp = serveApp(t, apps[i])
		cfgs[i].Mempool.Type = config.MempoolTypeApp
		cfgs[i].Mempool.ReapInterval = 50 * time.Millisecond
		start(t, cfgs[i])
	}
	ctx := context.Background()
	c0, c1 := client(t, cfgs[0]), client(t, cfgs[1])
	var res struct {
		Code uint32 `json:"code"`
	}
	if err := c0.Call(ctx, "broadcast_tx_sync", map[string]any{"tx": []byte("appside=yes")}, &res); err != nil || res.Code != 0 {
		t.Fatalf("broadcast_tx_sync: code %d, %v", res.Code, err)
	}
	if err := c0.Call(ctx, "broadcast_tx_sync", map[string]any{"tx": []byte("appside=yes")}, &res); err == nil || !strings.Contains(err.Error(), "already seen") {
		t.Fatalf("the same tx again: %v, want an error saying it was already seen", err)
	}
	waitFor(t, "the tx committed on both nodes", time.Minute, func() (bool, error) {
		return queryKey(ctx, c0, "appside") == "yes" && queryKey(ctx, c1, "appside") == "yes", nil
	})
	wantInserted := [][]string{nil, {"appside=yes"}}
	for i, a := range apps {
		if inserted, proposed := a.state(); proposed != 0 || !slices.Equal(inserted, wantInserted[i]) {
			t.Errorf("node%d: PrepareProposal got the node's txs %d times, InsertTx got %q; want 0 and %q", i, proposed, inserted, wantInserted[i])
		}
		var un struct {
			Total string `json:"total"`
		}
		if err := []*rpc.Client{c0, c1}[i].Call(ctx, "num_unconfirmed_txs", nil, &un); err != nil || un.Total != "0" {
			t.Errorf("node%d: num_unconfirmed_txs %q, %v; want 0", i, un.Total, err)
		}
	}
}
