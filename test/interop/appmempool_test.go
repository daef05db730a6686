package interop

import (
	"context"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
)

// insertCounter is CometBFT's end-to-end app with its app-side mempool
// on, counting the InsertTx calls it answers OK (the txs it got from
// peers, relayed by its node).
type insertCounter struct {
	*e2eapp.Application
	mu       sync.Mutex
	inserted map[string]bool
}

func (a *insertCounter) InsertTx(ctx context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	resp, err := a.Application.InsertTx(ctx, req)
	if err == nil && resp.Code == abci.CodeTypeOK {
		a.mu.Lock()
		a.inserted[string(req.Tx)] = true
		a.mu.Unlock()
	}
	return resp, err
}

func (a *insertCounter) insertedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inserted)
}

// TestCometE2EAppSideMempool: CometBFT's end-to-end app with
// AppSideMempool behind four bftnode validators with [mempool] type =
// "app". Txs submitted with broadcast_tx_sync to different nodes reach
// their app's CheckTx, the nodes gossip what ReapTxs returns and hand
// peers' txs to InsertTx, and the proposers' apps fill the blocks from
// their own mempools: every tx is committed and readable on every node,
// while the nodes' own mempools stay empty. A tx the app refuses gets its
// code back; a tx submitted twice gets an error saying it was seen.
func TestCometE2EAppSideMempool(t *testing.T) {
	apps := make([]*insertCounter, 4)
	// Reaping is much faster than blocks here: the app drops a tx from its
	// mempool once it is in a block, so a tx its own node's proposal
	// commits before a reap is never reaped, never gossiped and never
	// reaches a peer's InsertTx; with blocks a few ms apart a run could
	// commit all 24 before the first reap (CI did once).
	nw := appNetwork(t, func(i int) abci.Application {
		cfg := e2eapp.DefaultConfig(t.TempDir())
		cfg.AppSideMempool = true
		app, err := e2eapp.NewApplication(cfg)
		if err != nil {
			t.Fatal(err)
		}
		apps[i] = &insertCounter{Application: app, inserted: map[string]bool{}}
		return apps[i]
	}, "--mempool.type=app", "--mempool.reap_interval=10ms", "--consensus.timeout_commit=200ms")
	start := time.Now()

	const txs = 24
	for n := range txs {
		syncTx(t, nw, n%len(nw.nodes), fmt.Sprintf("appmem%d=v%d", n, n))
	}
	var dup struct{}
	if err := rawCall(nw.nodes[0].RPC(), "broadcast_tx_sync?tx=0x"+hex.EncodeToString([]byte("appmem0=v0")), &dup); err == nil || !strings.Contains(err.Error(), "already seen") {
		t.Fatalf("the same tx again: err = %v, want one saying it was already seen", err)
	}
	var bad struct {
		Code uint32 `json:"code"`
	}
	if err := rawCall(nw.nodes[1].RPC(), "broadcast_tx_sync?tx=0x"+hex.EncodeToString([]byte("no-equals-sign")), &bad); err != nil || bad.Code == 0 {
		t.Fatalf("a tx the app cannot parse: code %d, err %v; want the app's non-zero code", bad.Code, err)
	}

	for i := range nw.nodes {
		poll(t, fmt.Sprintf("every tx committed on %s", nw.nodes[i].name), time.Minute, func() (bool, error) {
			for n := range txs {
				var res struct {
					Response struct {
						Value []byte `json:"value"`
					} `json:"response"`
				}
				key := fmt.Sprintf("appmem%d", n)
				if err := rawCall(nw.nodes[i].RPC(), "abci_query?data=0x"+hex.EncodeToString([]byte(key)), &res); err != nil {
					return false, err
				}
				if string(res.Response.Value) != fmt.Sprintf("v%d", n) {
					return false, nil
				}
			}
			return true, nil
		})
	}
	t.Logf("%d txs committed on every node in %v", txs, time.Since(start).Round(100*time.Millisecond))

	for i, nd := range nw.nodes {
		// Gossip carried other nodes' txs to this node's app.
		if apps[i].insertedCount() == 0 {
			t.Errorf("%s's app got no tx through InsertTx", nd.name)
		}
		var un struct {
			Total string `json:"total"`
		}
		if err := rawCall(nd.RPC(), "num_unconfirmed_txs", &un); err != nil || un.Total != "0" {
			t.Errorf("%s: num_unconfirmed_txs total %q (err %v), want 0: the node keeps no txs", nd.name, un.Total, err)
		}
	}
	top, err := nw.height(0)
	if err != nil {
		t.Fatal(err)
	}
	checkAppsAgree(t, nw, top)
}

// TestAppMempoolConfigDefaults: the [mempool] keys of the app-side mempool
// that `bftnode init` writes have CometBFT v0.40.0's names and default
// values (its DefaultMempoolConfig), and a CometBFT mempool config with
// type "app" and no reap_interval is refused by both.
func TestAppMempoolConfigDefaults(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	runBftnode(t, "init", "--home", home, "--chain-id", "mempool-chain")
	shown := runBftnode(t, "config", "show", "--home", home)
	section := shown[strings.Index(shown, "\n[mempool]\n"):]
	section = section[:strings.Index(section[1:], "\n[")+1]
	def := cmtcfg.DefaultMempoolConfig()
	for key, want := range map[string]string{
		"type":                 strconv.Quote(def.Type),
		"seen_cache_size":      strconv.Itoa(def.SeenCacheSize),
		"reap_max_bytes":       strconv.FormatUint(def.ReapMaxBytes, 10),
		"reap_max_gas":         strconv.FormatUint(def.ReapMaxGas, 10),
		"reap_interval":        strconv.Quote(def.ReapInterval.String()),
		"check_tx_retry_delay": strconv.Quote(def.CheckTxRetryDelay.String()),
	} {
		if !strings.Contains(section, "\n"+key+" = "+want+"\n") {
			t.Errorf("[mempool] lacks %s = %s (CometBFT's default):%s", key, want, section)
		}
	}
	def.Type, def.ReapInterval = cmtcfg.MempoolTypeApp, 0
	if def.ValidateBasic() == nil {
		t.Fatal("CometBFT accepts type app without reap_interval")
	}
	out, err := exec.Command(bftnodeBin, "config", "validate", "--home", home, "--mempool.type=app", "--mempool.reap_interval=0s").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "mempool.reap_interval") {
		t.Fatalf("bftnode config validate with type app and reap_interval 0s: %v\n%s", err, out)
	}
}
