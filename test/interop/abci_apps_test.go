package interop

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	"github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
)

// appHeights is how many heights each CometBFT application network runs.
const appHeights = 200

// fastCommitFlags shorten the commit timeout further than fastFlags, so
// that appHeights heights take about a minute.
var fastCommitFlags = []string{"--consensus.timeout_commit=10ms"}

// serveCometApp serves app with CometBFT's own ABCI socket server until the
// test ends, over TCP or a Unix socket, and returns its address in the form
// proxy_app takes.
func serveCometApp(t *testing.T, network string, app abci.Application) string {
	t.Helper()
	var ln net.Listener
	var err error
	switch network {
	case "tcp":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		ln, err = net.Listen("unix", filepath.Join(shortTempDir(t), "app.sock"))
	default:
		t.Fatalf("network %q", network)
	}
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().Network() + "://" + ln.Addr().String()
	logPath := filepath.Join(t.TempDir(), "app.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewSocketServerWithListener(ln, app)
	srv.SetLogger(log.NewTMLogger(log.NewSyncWriter(logFile)))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Stop()
		if t.Failed() {
			t.Logf("----- last lines of the log of CometBFT's ABCI server at %s -----\n%s", addr, tail(logPath, 10))
		}
		_ = logFile.Close()
	})
	return addr
}

// shortTempDir is a temporary directory, removed when the test ends, with a
// path short enough for a Unix socket in it (at most 108 bytes): t.TempDir's
// path holds the test's name.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "abci")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// appNetwork starts four bftnode validators, each with its own CometBFT
// application (made by newApp) as its external app: nodes 0 and 2 reach
// theirs over TCP, nodes 1 and 3 over a Unix socket. flags are added to
// every node's.
func appNetwork(t *testing.T, newApp func(i int) abci.Application, flags ...string) *network {
	t.Helper()
	addrs := make([]string, 4)
	for i := range addrs {
		addrs[i] = serveCometApp(t, [2]string{"tcp", "unix"}[i%2], newApp(i))
	}
	return newNetwork(t, 4, netOptions{
		ProxyApp: func(i int) string { return addrs[i] },
		Flags:    append(slices.Clone(fastCommitFlags), flags...),
	})
}

// txResult is the part of a broadcast_tx_commit answer the tests read.
type txResult struct {
	CheckTx struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	} `json:"check_tx"`
	TxResult struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	} `json:"tx_result"`
	Height string `json:"height"`
}

// commitTx submits tx to node i with broadcast_tx_commit and fails unless
// the application accepts it and it commits.
func commitTx(t *testing.T, nw *network, i int, tx string) {
	t.Helper()
	var res txResult
	if err := rawCall(nw.nodes[i].RPC(), "broadcast_tx_commit?tx=0x"+hex.EncodeToString([]byte(tx)), &res); err != nil {
		t.Fatalf("broadcast_tx_commit %q to %s: %v", tx, nw.nodes[i].name, err)
	}
	if res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		t.Fatalf("%q: CheckTx code %d (%s), FinalizeBlock code %d (%s)", tx, res.CheckTx.Code, res.CheckTx.Log, res.TxResult.Code, res.TxResult.Log)
	}
	if h, err := strconv.ParseInt(res.Height, 10, 64); err != nil || h <= 0 {
		t.Fatalf("%q committed at height %q", tx, res.Height)
	}
}

// syncTx submits tx to node i with broadcast_tx_sync and fails unless
// CheckTx accepts it.
func syncTx(t *testing.T, nw *network, i int, tx string) {
	t.Helper()
	var res struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	}
	if err := rawCall(nw.nodes[i].RPC(), "broadcast_tx_sync?tx=0x"+hex.EncodeToString([]byte(tx)), &res); err != nil {
		t.Fatalf("broadcast_tx_sync %q to %s: %v", tx, nw.nodes[i].name, err)
	}
	if res.Code != 0 {
		t.Fatalf("%q: CheckTx code %d (%s)", tx, res.Code, res.Log)
	}
}

// queryValue asks node i's application, through abci_query, for key.
func queryValue(t *testing.T, nw *network, i int, key string) string {
	t.Helper()
	var res struct {
		Response struct {
			Code  uint32 `json:"code"`
			Log   string `json:"log"`
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if err := rawCall(nw.nodes[i].RPC(), "abci_query?data=0x"+hex.EncodeToString([]byte(key)), &res); err != nil {
		t.Fatalf("abci_query %q on %s: %v", key, nw.nodes[i].name, err)
	}
	if res.Response.Code != 0 {
		t.Fatalf("abci_query %q on %s: code %d (%s)", key, nw.nodes[i].name, res.Response.Code, res.Response.Log)
	}
	return string(res.Response.Value)
}

// headerAppHash is the app_hash of node i's block at height h.
func headerAppHash(t *testing.T, nw *network, i int, h int64) string {
	t.Helper()
	var res struct {
		Block struct {
			Header struct {
				AppHash string `json:"app_hash"`
			} `json:"header"`
		} `json:"block"`
	}
	if err := rawCall(nw.nodes[i].RPC(), fmt.Sprintf("block?height=%d", h), &res); err != nil {
		t.Fatalf("block %d on %s: %v", h, nw.nodes[i].name, err)
	}
	return res.Block.Header.AppHash
}

// appInfo is the part of an abci_info answer the tests read.
type appInfo struct {
	Data             string `json:"data"`
	LastBlockHeight  string `json:"last_block_height"`
	LastBlockAppHash string `json:"last_block_app_hash"`
}

// abciInfo is node i's application's Info, through abci_info.
func abciInfo(t *testing.T, nw *network, i int) appInfo {
	t.Helper()
	var res struct {
		Response appInfo `json:"response"`
	}
	if err := rawCall(nw.nodes[i].RPC(), "abci_info", &res); err != nil {
		t.Fatalf("abci_info on %s: %v", nw.nodes[i].name, err)
	}
	return res.Response
}

// checkAppsAgree checks that every node's block header carries the same
// app hash at every height up to top, and that each application's own Info
// (through abci_info) reports the app hash the next header carries.
func checkAppsAgree(t *testing.T, nw *network, top int64) {
	t.Helper()
	distinct := map[string]bool{}
	for h := int64(1); h <= top; h++ {
		want := headerAppHash(t, nw, 0, h)
		distinct[want] = true
		for i := 1; i < len(nw.nodes); i++ {
			if got := headerAppHash(t, nw, i, h); got != want {
				t.Fatalf("height %d: %s's app hash %s, node0's %s", h, nw.nodes[i].name, got, want)
			}
		}
	}
	if len(distinct) < 2 {
		t.Fatalf("the app hash never changed in %d heights: %v", top, distinct)
	}
	for i, nd := range nw.nodes {
		info := abciInfo(t, nw, i)
		h, err := strconv.ParseInt(info.LastBlockHeight, 10, 64)
		if err != nil || h < top {
			t.Fatalf("%s's application reports height %q, want ≥ %d", nd.name, info.LastBlockHeight, top)
		}
		appHash, err := base64.StdEncoding.DecodeString(info.LastBlockAppHash)
		if err != nil {
			t.Fatalf("%s: last_block_app_hash %q: %v", nd.name, info.LastBlockAppHash, err)
		}
		// The header of h+1 carries the app hash after h; the app may have
		// committed more heights since, and then the header is there too.
		nw.waitHeight(h+1, time.Minute)
		if got := headerAppHash(t, nw, i, h+1); got != fmt.Sprintf("%X", appHash) {
			t.Fatalf("%s's application reports app hash %X after height %d, the header of %d carries %s", nd.name, appHash, h, h+1, got)
		}
	}
}

// runAppNetwork drives a network of CometBFT applications: txs through
// every node (broadcast_tx_commit and broadcast_tx_sync), appHeights
// heights, every value readable on every node, app hashes in agreement. It
// returns how many txs it sent.
func runAppNetwork(t *testing.T, nw *network) int {
	t.Helper()
	start := time.Now()
	want := map[string]string{}
	for i := range nw.nodes {
		key, value := fmt.Sprintf("commit%d", i), fmt.Sprintf("value%d", i)
		commitTx(t, nw, i, key+"="+value)
		want[key] = value
	}
	for n := range 40 {
		key, value := fmt.Sprintf("sync%d", n), fmt.Sprintf("v%d", n)
		syncTx(t, nw, n%len(nw.nodes), key+"="+value)
		want[key] = value
	}
	nw.waitHeight(appHeights, 5*time.Minute)
	t.Logf("%d heights in %v", appHeights, time.Since(start).Round(time.Second))
	for i := range nw.nodes {
		for key, value := range want {
			if got := queryValue(t, nw, i, key); got != value {
				t.Fatalf("%s: abci_query %q = %q, want %q", nw.nodes[i].name, key, got, value)
			}
		}
	}
	checkAppsAgree(t, nw, appHeights)
	return len(want)
}

// TestABCICometKVStore: bftnode drives CometBFT's example kvstore,
// served by CometBFT's ABCI socket server, as the external app of each of
// four validators (two over TCP, two over Unix sockets).
func TestABCICometKVStore(t *testing.T) {
	nw := appNetwork(t, func(int) abci.Application { return kvstore.NewInMemoryApplication() })
	txs := runAppNetwork(t, nw)
	// The kvstore counts the txs it executed: each exactly once.
	for i := range nw.nodes {
		if got, want := abciInfo(t, nw, i).Data, fmt.Sprintf(`{"size":%d}`, txs); got != want {
			t.Errorf("%s's kvstore reports %s, want %s", nw.nodes[i].name, got, want)
		}
	}
}

// TestABCICometE2EApp: the same with CometBFT's end-to-end test
// application, which checks the heights of the calls it gets, the
// consensus parameters of InitChain and the proposal's txs. Vote
// extensions are off (the genesis does not enable them).
func TestABCICometE2EApp(t *testing.T) {
	nw := appNetwork(t, func(int) abci.Application {
		cfg := e2eapp.DefaultConfig(t.TempDir())
		app, err := e2eapp.NewApplication(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return app
	})
	runAppNetwork(t, nw)
	// The app keeps what InitChain told it under reserved keys.
	for key, want := range map[string]string{
		"reservedTxKey_ChainID":              nw.chainID,
		"reservedTxKey_InitialHeight":        "1",
		"reservedTxKey_VoteExtensionsHeight": "0",
	} {
		for i := range nw.nodes {
			if got := queryValue(t, nw, i, key); got != want {
				t.Errorf("%s: %s = %q, want %q", nw.nodes[i].name, key, got, want)
			}
		}
	}
}
