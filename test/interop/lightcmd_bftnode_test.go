package interop

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"
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
	if log, err := bad.waitExit(t, time.Minute); err == nil || !strings.Contains(log, "trusted header does not match") {
		t.Fatalf("bftnode light with a wrong trusted hash: exit %v, log:\n%s", err, log)
	}

	lp := startLight(t, "light", bftnodeBin, "light", nw.chainID, "--primary", nw.nodes[0].RPC(),
		"--witnesses", nw.nodes[1].RPC()+","+nw.nodes[2].RPC(), "--height", "2", "--hash", hash, "--home-dir", t.TempDir())
	proxy := lp.waitProxy(t, 2*time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := proxy.BroadcastTxCommit(ctx, []byte("light=verified")); err == nil || !strings.Contains(err.Error(), "not served by the light proxy") {
		t.Fatalf("broadcast_tx_commit to the light proxy: %v, want it refused: it serves only verified reads", err)
	}
	h := checkProxyServesTx(t, proxy, nw.nodes[3].RPC(), func(h int64) { nw.waitHeight(h, time.Minute) })
	t.Logf("verified heights 1..%d through the proxy", h)
}

// TestLightCmdStopsOnFork runs two bftnode networks with the same genesis
// and validator keys, which decide different blocks: a fork signed by the
// same validators. `bftnode light` with a primary on one and a witness on
// the other stops, names both headers and keeps them as evidence.
func TestLightCmdStopsOnFork(t *testing.T) {
	a := newNetwork(t, 4, netOptions{})
	b := twinNetwork(t, a)
	a.waitHeight(3, 2*time.Minute)
	b.waitHeight(3, 2*time.Minute)
	hashA, hashB := blockHash(t, a.nodes[0].RPC(), 2), blockHash(t, b.nodes[0].RPC(), 2)
	if hashA == hashB {
		t.Fatalf("the two networks decided the same block %s at height 2: no fork to detect", hashA)
	}
	home := t.TempDir()
	lp := startLight(t, "light", bftnodeBin, "light", a.chainID, "--primary", a.nodes[0].RPC(),
		"--witnesses", b.nodes[1].RPC(), "--height", "2", "--hash", hashA, "--home-dir", home)
	log, err := lp.waitExit(t, 2*time.Minute)
	for _, want := range []string{"conflicting headers", "at height 2", "primary " + a.nodes[0].RPC() + " has header " + hashA,
		"witness " + b.nodes[1].RPC() + " has header " + hashB, filepath.Join(home, "data", "evidence")} {
		if !strings.Contains(log, want) {
			t.Errorf("bftnode light's output does not say %q", want)
		}
	}
	if err == nil {
		t.Error("bftnode light exited 0 on a fork")
	}
	files, _ := filepath.Glob(filepath.Join(home, "data", "evidence", "*.json"))
	if len(files) != 1 {
		t.Fatalf("evidence files %v, want one", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	type side struct {
		Hash       string `json:"hash"`
		LightBlock struct {
			SignedHeader cmttypes.SignedHeader `json:"signed_header"`
		} `json:"light_block"`
	}
	var ev struct {
		Primary side `json:"primary"`
		Witness side `json:"witness"`
	}
	if err := cmtjson.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("CometBFT cannot read the evidence's light blocks: %v\n%s", err, raw)
	}
	// CometBFT's own code checks both signed headers: each commit is for
	// its header, and the two differ at the same height.
	for _, s := range []struct {
		got  side
		want string
	}{{ev.Primary, hashA}, {ev.Witness, hashB}} {
		sh := s.got.LightBlock.SignedHeader
		if sh.Header == nil || sh.Commit == nil {
			t.Fatalf("evidence without a signed header:\n%s", raw)
		}
		if err := sh.ValidateBasic(a.chainID); err != nil || sh.Hash().String() != s.want || s.got.Hash != s.want {
			t.Errorf("evidence light block at height %d: CometBFT says %v, hash %v, want %s", sh.Height, err, sh.Hash(), s.want)
		}
	}
}

// twinNetwork starts a network with a's genesis and validator keys: the
// same validators, deciding blocks of their own.
func twinNetwork(t *testing.T, a *network) *network {
	t.Helper()
	return newNetwork(t, len(a.nodes), netOptions{Setup: func(b *network) {
		for i, nd := range b.nodes {
			for _, f := range []string{"genesis.json", "priv_validator_key.json"} {
				raw, err := os.ReadFile(filepath.Join(a.nodes[i].home, "config", f))
				if err == nil {
					err = os.WriteFile(filepath.Join(nd.home, "config", f), raw, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}})
}
