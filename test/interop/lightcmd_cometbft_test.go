package interop

import (
	"context"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// TestLightCmdVerifiesCometBFTNet runs `bftnode light` against a CometBFT
// v0.40.0 localnet (4 validators, its kvstore): bftnode's verifier accepts
// CometBFT's headers, commits and validator sets, and its proxy serves them
// to CometBFT's RPC client as the nodes do.
func TestLightCmdVerifiesCometBFTNet(t *testing.T) {
	bin := cometbftBin(t)
	cn := newCometNet(t, bin, 4)
	cn.waitHeight(t, 3, 2*time.Minute)
	hash := blockHash(t, cn.nodes[1].RPC(), 2)

	lp := startLight(t, "bftnode-light", bftnodeBin, "light", cn.chainID, "--primary", cn.nodes[0].RPC(),
		"--witnesses", cn.nodes[1].RPC()+","+cn.nodes[2].RPC(), "--height", "2", "--hash", hash, "--home-dir", t.TempDir())
	proxy := lp.waitProxy(t, 2*time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node, err := rpchttp.New(cn.nodes[3].RPC(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	res, err := node.BroadcastTxCommit(ctx, []byte("light=verified"))
	if err != nil || res.TxResult.Code != 0 || res.CheckTx.Code != 0 {
		t.Fatalf("broadcast_tx_commit to CometBFT node3: %v %+v", err, res)
	}
	cn.waitHeight(t, res.Height+1, time.Minute)
	q, err := proxy.ABCIQuery(ctx, "", []byte("light"))
	if err != nil || string(q.Response.Value) != "verified" {
		t.Fatalf("abci_query through the proxy: %v %+v", err, q)
	}
	checkProxyMatchesNode(t, proxy, cn.nodes[3].RPC(), res.Height+1)
	blk, err := proxy.Block(ctx, &res.Height)
	if err != nil || len(blk.Block.Txs) != 1 || string(blk.Block.Txs[0]) != "light=verified" {
		t.Fatalf("proxy block %d: %v, want the tx", res.Height, err)
	}
}

// TestCometBFTLightVerifiesBftnodeNet runs CometBFT's own light client
// (`cometbft light`) against a bftnode localnet: CometBFT verifies bftnode's
// headers, commits and validator sets, and serves them from its proxy.
func TestCometBFTLightVerifiesBftnodeNet(t *testing.T) {
	bin := cometbftBin(t)
	nw := newNetwork(t, 4, netOptions{})
	nw.waitHeight(3, 2*time.Minute)
	hash := blockHash(t, nw.nodes[1].RPC(), 2)

	lp := startLight(t, "cometbft-light", bin, "light", nw.chainID, "--primary", nw.nodes[0].RPC(),
		"--witnesses", nw.nodes[1].RPC()+","+nw.nodes[2].RPC(), "--height", "2", "--hash", hash, "--home-dir", t.TempDir())
	proxy := lp.waitProxy(t, 2*time.Minute)
	h, err := nw.height(3)
	if err != nil {
		t.Fatal(err)
	}
	checkProxyMatchesNode(t, proxy, nw.nodes[3].RPC(), h)
}
