package interop

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
)

// stateSyncHeights is how long the chain is when a node joins it by state
// sync. `make test` keeps it short; the figure is 5000:
//
//	go test -run TestStateSyncJoin -statesync.heights=5000 -timeout 2h ./...
var stateSyncHeights = flag.Int64("statesync.heights", 300, "heights of the chain before TestStateSyncJoin's fifth node joins")

// e2eSnapshotApp is CometBFT's end-to-end application taking a snapshot
// every interval heights.
func e2eSnapshotApp(t *testing.T, interval uint64) abci.Application {
	t.Helper()
	cfg := e2eapp.DefaultConfig(t.TempDir())
	cfg.SnapshotInterval = interval
	app, err := e2eapp.NewApplication(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestStateSyncJoin: four bftnode validators run CometBFT's end-to-end
// application, which snapshots its state every 100 heights, with no
// commit delay, for -statesync.heights heights; a few large values make
// its snapshots several 1 MB chunks. A fifth node then joins by state
// sync: its light client (over two validators' RPC) verifies the
// snapshot's height and app hash, CometBFT's app restores it, and the
// node block-syncs to the tip and follows consensus. Its store starts at
// the snapshot's height, its app hash agrees with the validators' at
// every later height, and its log carries the progress lines. A sixth
// node then joins by block sync from genesis, for comparison; both
// times are logged.
func TestStateSyncJoin(t *testing.T) {
	const interval = 100
	heights := max(*stateSyncHeights, 2*interval+10)
	addrs := make([]string, 4)
	for i := range addrs {
		addrs[i] = serveCometApp(t, "tcp", e2eSnapshotApp(t, interval))
	}
	nw := newNetwork(t, 4, netOptions{
		ProxyApp: func(i int) string { return addrs[i] },
		Flags:    []string{"--consensus.timeout_commit=0s"},
	})
	// 48 values of 50 KB: the state (JSON) spans three 1 MB chunks.
	big := strings.Repeat("x", 50_000)
	for i := range 48 {
		var res struct {
			Code uint32 `json:"code"`
		}
		tx := fmt.Sprintf("big%d=%s%d", i, big, i)
		if err := rawCall(nw.nodes[i%4].RPC(), "broadcast_tx_sync?tx=0x"+hex.EncodeToString([]byte(tx)), &res); err != nil || res.Code != 0 {
			t.Fatalf("broadcast_tx_sync of value big%d: code %d, %v", i, res.Code, err)
		}
	}
	start := time.Now()
	nw.waitHeight(heights, time.Duration(heights)*200*time.Millisecond+5*time.Minute)
	t.Logf("%d heights in %v", heights, time.Since(start).Round(time.Second))

	// The fifth node trusts a header the operator would take from a
	// trusted source: here, node0's header at height 10.
	trustHash := blockHash(t, nw.nodes[0].RPC(), 10)
	if _, err := hex.DecodeString(trustHash); err != nil || len(trustHash) != 64 {
		t.Fatalf("trusted hash %q", trustHash)
	}

	ss := joinNode(t, nw, &addrs, "statesync", "--statesync.enable=true",
		"--statesync.rpc_servers="+nw.nodes[0].RPC()+","+nw.nodes[1].RPC(),
		"--statesync.trust_height=10", "--statesync.trust_hash="+trustHash,
		"--statesync.discovery_time=5s")
	ssTook, ssTip := ss.waitTip(t)
	base := ss.earliest(t)
	if base <= 1 || base%interval != 0 {
		t.Fatalf("the state-synced node's store starts at height %d; want a snapshot height (a multiple of %d), not genesis", base, interval)
	}
	logText, err := os.ReadFile(ss.nd.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state sync: restoring snapshot", "state sync: done", "block sync"} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("the state-synced node's log lacks %q", want)
		}
	}
	progress := regexp.MustCompile(`chunks=(\d+)/(\d+)`).FindAllStringSubmatch(string(logText), -1)
	if len(progress) == 0 {
		t.Fatal("the state-synced node logged no progress line")
	}
	last := progress[len(progress)-1]
	if total, _ := strconv.Atoi(last[2]); last[1] != last[2] || total < 2 {
		t.Errorf("the state-synced node's last progress line is at %s of %s chunks; want all of 2 or more", last[1], last[2])
	}
	for _, line := range strings.Split(string(logText), "\n") {
		if strings.Contains(line, "state sync") || strings.Contains(line, "block sync") {
			t.Log(line)
		}
	}
	// It follows consensus: 20 more heights, with the validators' app hashes.
	nw.waitHeight(ssTip+20, 3*time.Minute)
	for h := base + 1; h <= ssTip+20; h += max(1, (ssTip+20-base)/50) {
		if got, want := headerAppHash(t, nw, ss.i, h), headerAppHash(t, nw, 0, h); got != want {
			t.Fatalf("height %d: the state-synced node's app hash %s, node0's %s", h, got, want)
		}
	}
	for key, want := range map[string]string{"big1": big + "1", "reservedTxKey_InitialHeight": "1"} {
		if got := queryValue(t, nw, ss.i, key); got != want {
			t.Errorf("the state-synced node's app: %s has %d bytes, want %d", key, len(got), len(want))
		}
	}

	bs := joinNode(t, nw, &addrs, "blocksync")
	bsTook, _ := bs.waitTip(t)
	if got := bs.earliest(t); got != 1 {
		t.Errorf("the block-synced node's store starts at height %d, want 1", got)
	}
	t.Logf("joining a chain of %d heights: by state sync (snapshot of height %d) %v, by block sync from genesis %v",
		ssTip, base, ssTook.Round(100*time.Millisecond), bsTook.Round(100*time.Millisecond))
}

// joiner is a node added to a running network.
type joiner struct {
	nw    *network
	nd    *bnode
	i     int
	start time.Time
}

// joinNode starts one more (non-validator) node with the network's genesis,
// its own CometBFT end-to-end application, and flags.
func joinNode(t *testing.T, nw *network, addrs *[]string, name string, flags ...string) *joiner {
	t.Helper()
	home := filepath.Join(nw.dir, name)
	runBftnode(t, "init", "--home", home, "--chain-id", nw.chainID)
	gen, err := os.ReadFile(filepath.Join(nw.nodes[0].home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), gen, 0o600); err != nil {
		t.Fatal(err)
	}
	nd := &bnode{
		name: name, home: home, logPath: filepath.Join(nw.dir, name+".log"),
		p2pPort: freePort(t), rpcPort: freePort(t),
		peerID: strings.TrimSpace(runBftnode(t, "show-node-id", "--libp2p", "--home", home)),
	}
	*addrs = append(*addrs, serveCometApp(t, "tcp", e2eSnapshotApp(t, 0)))
	nw.nodes = append(nw.nodes, nd)
	i := len(nw.nodes) - 1
	nw.opts.Flags = append([]string{"--consensus.timeout_commit=0s"}, flags...)
	j := &joiner{nw: nw, nd: nd, i: i, start: time.Now()}
	nw.start(i)
	return j
}

// waitTip waits until the joiner has every height the validators had when
// it started, and returns how long that took and the height.
func (j *joiner) waitTip(t *testing.T) (time.Duration, int64) {
	t.Helper()
	tip, err := j.nw.height(0)
	if err != nil {
		t.Fatal(err)
	}
	poll(t, j.nd.name+" to reach the tip", time.Duration(tip)*300*time.Millisecond+5*time.Minute, func() (bool, error) {
		if ok, err := j.nw.exited(j.i); ok {
			return false, fmt.Errorf("%s exited: %v", j.nd.name, err)
		}
		h, err := j.nw.height(j.i)
		return err == nil && h >= tip, nil
	})
	return time.Since(j.start), tip
}

// earliest is the lowest height the joiner's store holds.
func (j *joiner) earliest(t *testing.T) int64 {
	t.Helper()
	var st struct {
		SyncInfo struct {
			EarliestBlockHeight string `json:"earliest_block_height"`
		} `json:"sync_info"`
	}
	if err := rawCall(j.nd.RPC(), "status", &st); err != nil {
		t.Fatal(err)
	}
	h, err := strconv.ParseInt(st.SyncInfo.EarliestBlockHeight, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
