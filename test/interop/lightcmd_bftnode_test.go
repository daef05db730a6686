package interop

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// TestLightCmdVerifiesBftnodeNet runs `bftnode light` against a bftnode
// localnet (primary node0, witnesses node1 and node2) and reads verified
// data through its proxy with CometBFT's RPC client; a wrong trusted hash
// is refused.
func TestLightCmdVerifiesBftnodeNet(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	nw.waitHeight(3, 2*time.Minute)
	hash := blockHash(t, nw.nodes[1].RPC(), 2)

	wrong := strings.Repeat("AB", 32)
	bad := startLight(t, "light-wrong-hash", bftnodeBin, "light", nw.chainID, "--primary", nw.nodes[0].RPC(),
		"--witnesses", nw.nodes[1].RPC(), "--height", "2", "--hash", wrong, "--home-dir", t.TempDir())
	if err, log := bad.waitExit(t, time.Minute); err == nil || !strings.Contains(log, "trusted header does not match") {
		t.Fatalf("bftnode light with a wrong trusted hash: exit %v, log:\n%s", err, log)
	}

	lp := startLight(t, "light", bftnodeBin, "light", nw.chainID, "--primary", nw.nodes[0].RPC(),
		"--witnesses", nw.nodes[1].RPC()+","+nw.nodes[2].RPC(), "--height", "2", "--hash", hash, "--home-dir", t.TempDir())
	proxy := lp.waitProxy(t, 2*time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := proxy.BroadcastTxCommit(ctx, []byte("light=verified"))
	if err == nil {
		t.Fatal("the light proxy accepted broadcast_tx_commit; it serves only verified reads")
	}
	node, err := rpchttp.New(nw.nodes[3].RPC(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	if res, err = node.BroadcastTxCommit(ctx, []byte("light=verified")); err != nil || res.TxResult.Code != 0 {
		t.Fatalf("broadcast_tx_commit to node3: %v %+v", err, res)
	}
	nw.waitHeight(res.Height+1, time.Minute)
	q, err := proxy.ABCIQuery(ctx, "", []byte("light"))
	if err != nil || string(q.Response.Value) != "verified" {
		t.Fatalf("abci_query through the proxy: %v %+v", err, q)
	}
	checkProxyMatchesNode(t, proxy, nw.nodes[3].RPC(), res.Height+1)
	blk, err := proxy.Block(ctx, &res.Height)
	if err != nil || len(blk.Block.Txs) != 1 || string(blk.Block.Txs[0]) != "light=verified" {
		t.Fatalf("proxy block %d: %v, want the tx", res.Height, err)
	}
	t.Logf("verified heights 1..%s through the proxy", strconv.FormatInt(res.Height+1, 10))
}
