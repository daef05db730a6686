package node

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/bftnode/bftnode/blockstore/index"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

// commitTx commits tx through the node's RPC and returns its height.
func commitTx(t *testing.T, c *rpc.Client, tx string) int64 {
	t.Helper()
	var res struct {
		TxResult struct {
			Code int `json:"code"`
		} `json:"tx_result"`
		Height string `json:"height"`
	}
	if err := c.Call(context.Background(), "broadcast_tx_commit", map[string]any{"tx": []byte(tx)}, &res); err != nil {
		t.Fatalf("broadcast_tx_commit %s: %v", tx, err)
	}
	h, err := strconv.ParseInt(res.Height, 10, 64)
	if err != nil || h == 0 || res.TxResult.Code != 0 {
		t.Fatalf("%s not committed: %+v", tx, res)
	}
	return h
}

// searchHeights returns the heights of the txs tx_search finds for q.
func searchHeights(t *testing.T, c *rpc.Client, q string) []string {
	t.Helper()
	var res struct {
		Txs []struct {
			Height string `json:"height"`
		} `json:"txs"`
	}
	if err := c.Call(context.Background(), "tx_search", map[string]any{"query": q}, &res); err != nil {
		t.Fatalf("tx_search %q: %v", q, err)
	}
	var out []string
	for _, tx := range res.Txs {
		out = append(out, tx.Height)
	}
	return out
}

func txsMetric(t *testing.T, n *Node) float64 {
	t.Helper()
	mfs, err := n.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "bftnode_consensus_txs_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("bftnode_consensus_txs_total is not registered")
	return 0
}

// TestRestartKeepsEventIndex: the event index persists, so a restarted
// node answers tx_search for txs committed before without reading their
// blocks again (the committed-txs metric, fed by every block the node
// reads for its index, stays at zero); with the index removed, or ahead of
// the block store, the node rebuilds it from the store.
func TestRestartKeepsEventIndex(t *testing.T) {
	cfgs := testnet(t, 1, 0)
	fast(cfgs)
	cfg := cfgs[0]
	c := client(t, cfg)

	_, stop := startNode(t, cfg)
	waitHeight(t, c, 1, 20*time.Second)
	h1 := commitTx(t, c, "restart=one")
	waitFor(t, "the first tx indexed", 20*time.Second, func() (bool, error) {
		return len(searchHeights(t, c, "tx.height="+strconv.FormatInt(h1, 10))) == 1, nil
	})
	stop()

	n, stop := startNode(t, cfg)
	if last, _ := n.index.LastIndexed(); last < h1 {
		t.Fatalf("reopened index is at height %d, below the tx's %d", last, h1)
	}
	waitHeight(t, c, h1+1, 20*time.Second)
	if got := searchHeights(t, c, "app.key='restart'"); len(got) != 1 || got[0] != strconv.FormatInt(h1, 10) {
		t.Errorf("after restart: tx_search found the first tx at %v, want [%d]", got, h1)
	}
	if m := txsMetric(t, n); m != 0 {
		t.Errorf("the restarted node read %v committed txs again", m)
	}
	h2 := commitTx(t, c, "restart=two")
	waitFor(t, "the second tx indexed", 20*time.Second, func() (bool, error) {
		return len(searchHeights(t, c, "app.key='restart'")) == 2, nil
	})
	stop()

	if err := os.RemoveAll(cfg.TxIndexDir()); err != nil {
		t.Fatal(err)
	}
	n, stop = startNode(t, cfg)
	waitHeight(t, c, h2, 20*time.Second)
	got := searchHeights(t, c, "app.key='restart'")
	if want := []string{strconv.FormatInt(h1, 10), strconv.FormatInt(h2, 10)}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("rebuilt index: found %v, want %v", got, want)
	}
	if m := txsMetric(t, n); m < 2 {
		t.Errorf("rebuilding read %v committed txs, want 2", m)
	}
	stop()

	// An index ahead of the store (as after a rollback) is rebuilt too.
	ix, err := index.Open(cfg.TxIndexDir(), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.IndexBlock(&types.Block{Header: types.Header{Height: 1 << 40}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	n, _ = startNode(t, cfg)
	waitHeight(t, c, h2, 20*time.Second)
	if got := searchHeights(t, c, "app.key='restart'"); len(got) != 2 {
		t.Errorf("index rebuilt after being ahead: found txs at %v, want 2", got)
	}
	if last, _ := n.index.LastIndexed(); last >= 1<<40 {
		t.Errorf("the index ahead of the store was kept (last %d)", last)
	}
}

// A tx the index does not have is an RPC not-found error that keeps the
// index's text.
func TestMissingTxIsNotFound(t *testing.T) {
	ix, err := index.Open(t.TempDir(), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	_, ixErr := ix.Tx(context.Background(), types.Hash{0xAB})
	err = notFound(ixErr)
	if !errors.Is(err, rpc.ErrNotFound) || !errors.Is(err, index.ErrNotFound) || err.Error() != ixErr.Error() {
		t.Errorf("notFound(%v) = %v", ixErr, err)
	}
}
