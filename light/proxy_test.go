package light

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

// fakeNode serves the whole blocks of a chain, with per-height overrides.
type fakeNode struct {
	c       *chain
	replace map[int64]*types.Block
}

func (n *fakeNode) Block(_ context.Context, h int64) (*types.Block, error) {
	if b, ok := n.replace[h]; ok {
		return b, nil
	}
	return &types.Block{Header: *n.c.blocks[h].Header, Data: types.Data{Txs: txsAt(h)}, LastCommit: n.c.blocks[h-1].Commit}, nil
}

func (n *fakeNode) NodeInfo(context.Context) (*rpc.NodeInfo, error) {
	return &rpc.NodeInfo{ID: "primary-id", Network: n.c.chainID, Moniker: "primary"}, nil
}

func (n *fakeNode) ABCIQuery(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return &abci.ResponseQuery{Key: req.Data, Value: []byte("value of " + string(req.Data)), Height: 30}, nil
}

// get calls the proxy's URI form and returns the result or the error text.
func get(t *testing.T, base, path string) (map[string]any, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Result map[string]any `json:"result"`
		Error  *struct {
			Data string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if env.Error != nil {
		return nil, env.Error.Data
	}
	return env.Result, ""
}

// field walks a decoded JSON object by keys.
func field(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

func TestProxyServesVerifiedData(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	fork := genChain(t, testChainID, 30, threeEras, func(int64) []byte { return []byte("fork") })
	client, _ := newTestClient(t, newProvider("primary", c, 30), []Provider{newProvider("witness", c, 30)}, false, "")
	node := &fakeNode{c: c, replace: map[int64]*types.Block{}}
	tampered, _ := node.Block(context.Background(), 8)
	tampered.Data.Txs = [][]byte{[]byte("not the tx")}
	node.replace[8] = tampered
	node.replace[9] = &types.Block{Header: *fork.blocks[9].Header, Data: types.Data{Txs: txsAt(9)}, LastCommit: fork.blocks[8].Commit}
	srv, err := rpc.NewServer(rpc.DefaultConfig(), NewProxy(client, node), nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	res, msg := get(t, hs.URL, "/status")
	if msg != "" || field(res, "sync_info", "latest_block_height") != "30" || field(res, "node_info", "network") != testChainID {
		t.Fatalf("status: %v %s, want the latest verified height 30", res, msg)
	}
	res, msg = get(t, hs.URL, "/block?height=7")
	want := c.blocks[7].Hash()
	if msg != "" || !strings.EqualFold(field(res, "block_id", "hash").(string), hexOf(want[:])) ||
		field(res, "block", "data", "txs").([]any)[0] != base64.StdEncoding.EncodeToString(txsAt(7)[0]) {
		t.Fatalf("block 7: %v %s", res, msg)
	}
	if _, msg = get(t, hs.URL, "/block?height=8"); !strings.Contains(msg, "data hash") {
		t.Errorf("a block whose txs are not its header's: %q, want a data hash error", msg)
	}
	if _, msg = get(t, hs.URL, "/block?height=9"); !strings.Contains(msg, "the verified header is") {
		t.Errorf("a block of another header: %q, want it refused", msg)
	}
	res, msg = get(t, hs.URL, "/commit?height=12")
	want = c.blocks[12].Hash()
	if msg != "" || !strings.EqualFold(field(res, "signed_header", "commit", "block_id", "hash").(string), hexOf(want[:])) {
		t.Fatalf("commit 12: %v %s", res, msg)
	}
	res, msg = get(t, hs.URL, "/validators?height=25")
	if msg != "" || field(res, "total") != "4" {
		t.Fatalf("validators 25: %v %s", res, msg)
	}
	res, msg = get(t, hs.URL, "/header?height=3")
	if msg != "" || field(res, "header", "height") != "3" {
		t.Fatalf("header 3: %v %s", res, msg)
	}
	res, msg = get(t, hs.URL, `/abci_query?data="k"`)
	if msg != "" || field(res, "response", "value") != base64.StdEncoding.EncodeToString([]byte("value of k")) {
		t.Fatalf("abci_query: %v %s", res, msg)
	}
	if _, msg = get(t, hs.URL, `/broadcast_tx_sync?tx="a=b"`); !strings.Contains(msg, "not served by the light proxy") {
		t.Errorf("broadcast_tx_sync: %q, want it refused", msg)
	}
}
