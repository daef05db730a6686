package node

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/internal/testport"
	"github.com/bftnode/bftnode/rpc"
)

// ports hands out the loopback ports of this package's test nodes.
var ports = testport.New(27000, 30000)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	return ports.Free(t)
}

// testnet makes n homes under a temporary directory, wired to each other
// on loopback, with short timeouts; the first vals of them are the genesis
// validators (all of them when vals is 0).
func testnet(t testing.TB, n, vals int) []config.Config {
	t.Helper()
	dir := t.TempDir()
	cfgs := make([]config.Config, n)
	homes := make([]*config.Home, n)
	gen := &config.GenesisDoc{GenesisTime: time.Now().UTC(), ChainID: "node-test", InitialHeight: 1}
	peers := make([]string, n)
	for i := range n {
		cfg := config.Default(filepath.Join(dir, fmt.Sprintf("node%d", i)))
		cfg.Moniker = fmt.Sprintf("node%d", i)
		p2pPort := freePort(t)
		cfg.P2P.ListenAddress = "/ip4/127.0.0.1/tcp/" + strconv.Itoa(p2pPort)
		cfg.RPC.ListenAddress = "tcp://127.0.0.1:" + strconv.Itoa(freePort(t))
		c := &cfg.Consensus
		c.TimeoutPropose, c.TimeoutProposeDelta = 2*time.Second, 500*time.Millisecond
		c.TimeoutPrevote, c.TimeoutPrevoteDelta = 500*time.Millisecond, 250*time.Millisecond
		c.TimeoutPrecommit, c.TimeoutPrecommitDelta = 500*time.Millisecond, 250*time.Millisecond
		c.TimeoutCommit = 50 * time.Millisecond
		home, err := config.InitHome(cfg)
		if err != nil {
			t.Fatal(err)
		}
		id, err := home.NodeKey.PeerID()
		if err != nil {
			t.Fatal(err)
		}
		peers[i] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort, id)
		if vals == 0 || i < vals {
			gen.Validators = append(gen.Validators, config.NewGenesisValidator(home.Validator.PubKey(), 10, cfg.Moniker))
		}
		cfgs[i], homes[i] = cfg, home
	}
	for i := range cfgs {
		for j, p := range peers {
			if j != i {
				cfgs[i].P2P.PersistentPeers += p + ","
			}
		}
		if err := gen.Save(cfgs[i].GenesisFile()); err != nil {
			t.Fatal(err)
		}
	}
	return cfgs
}

// start runs a node until the test ends, or until the returned stop is
// called (which waits for the node to close its stores).
func start(t *testing.T, cfg config.Config) (stop func()) {
	t.Helper()
	_, stop = startNode(t, cfg)
	return stop
}

// startNode is start, also returning the node; opts configure it.
func startNode(t *testing.T, cfg config.Config, opts ...Option) (_ *Node, stop func()) {
	t.Helper()
	return startLogged(t, cfg, nil, opts...)
}

// startLogged is startNode with the node logging to logger (nil: nowhere).
func startLogged(t *testing.T, cfg config.Config, logger *slog.Logger, opts ...Option) (_ *Node, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := New(ctx, cfg, logger, opts...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped with: %v", cfg.Moniker, err)
			}
		})
	}
	t.Cleanup(stop)
	return n, stop
}

func client(t *testing.T, cfg config.Config) *rpc.Client {
	t.Helper()
	c, err := rpc.NewClient("http://"+cfg.RPC.ListenAddress[len("tcp://"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() (bool, error)) {
	t.Helper()
	end := time.Now().Add(deadline)
	var last error
	for time.Now().Before(end) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
}

type statusResult struct {
	SyncInfo struct {
		LatestBlockHeight string `json:"latest_block_height"`
	} `json:"sync_info"`
}

func height(ctx context.Context, c *rpc.Client) (int64, error) {
	var st statusResult
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
}

type blockResult struct {
	BlockID struct {
		Hash string `json:"hash"`
	} `json:"block_id"`
	Block struct {
		Header struct {
			AppHash string `json:"app_hash"`
		} `json:"header"`
	} `json:"block"`
}

// TestFourValidatorsOverLibp2p runs four real nodes (libp2p on loopback,
// in-process kvstore, Pebble stores) in this process: they commit blocks
// with identical hashes, and a tx sent to one node is committed and
// queryable at another.
func TestFourValidatorsOverLibp2p(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	for _, cfg := range cfgs {
		start(t, cfg)
	}
	ctx := context.Background()
	clients := make([]*rpc.Client, len(cfgs))
	for i, cfg := range cfgs {
		clients[i] = client(t, cfg)
	}
	waitFor(t, "every node at height 3", 60*time.Second, func() (bool, error) {
		for _, c := range clients {
			h, err := height(ctx, c)
			if err != nil || h < 3 {
				return false, err
			}
		}
		return true, nil
	})

	var res struct {
		CheckTx struct {
			Code int `json:"code"`
		} `json:"check_tx"`
		TxResult struct {
			Code int `json:"code"`
		} `json:"tx_result"`
		Height string `json:"height"`
	}
	if err := clients[0].Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte("foo=bar")}, &res); err != nil {
		t.Fatalf("broadcast_tx_commit: %v", err)
	}
	if res.CheckTx.Code != 0 || res.TxResult.Code != 0 || res.Height == "0" {
		t.Fatalf("tx not committed: %+v", res)
	}
	var q struct {
		Response struct {
			Value string `json:"value"`
		} `json:"response"`
	}
	waitFor(t, "node3 to answer the query", 20*time.Second, func() (bool, error) {
		if err := clients[3].Call(ctx, "abci_query", map[string]any{"path": "/key", "data": fmt.Sprintf("%X", "foo")}, &q); err != nil {
			return false, err
		}
		v, err := base64.StdEncoding.DecodeString(q.Response.Value)
		return string(v) == "bar", err
	})

	// Every node holds the same blocks and app hashes up to a common height.
	txHeight, _ := strconv.ParseInt(res.Height, 10, 64)
	for h := int64(1); h <= txHeight; h++ {
		var want blockResult
		for i, c := range clients {
			var got blockResult
			err := c.Call(ctx, "block", map[string]any{"height": strconv.FormatInt(h, 10)}, &got)
			if err != nil {
				var rerr *rpc.Error
				if errors.As(err, &rerr) && i > 0 {
					continue // this node has not stored h yet
				}
				t.Fatalf("node%d block %d: %v", i, h, err)
			}
			if i == 0 {
				want = got
			} else if got != want {
				t.Fatalf("height %d: node0 has %+v, node%d has %+v", h, want, i, got)
			}
		}
	}
}
