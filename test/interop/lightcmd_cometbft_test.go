package interop

import (
	"testing"
	"time"
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

	checkProxyServesTx(t, proxy, cn.nodes[3].RPC(), func(h int64) { cn.waitHeight(t, h, time.Minute) })
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
