package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// lightProc is a running light client (`bftnode light` or `cometbft
// light`) with its proxy's address.
type lightProc struct {
	name    string
	proxy   string // http://127.0.0.1:PORT
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// startLight runs bin with args plus --laddr on a free port; the process is
// killed at the end of the test, and its log's tail printed if it failed.
func startLight(t *testing.T, name, bin string, args ...string) *lightProc {
	t.Helper()
	port := freePort(t)
	lp := &lightProc{name: name, proxy: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(lp.logPath)
	if err != nil {
		t.Fatal(err)
	}
	lp.cmd = exec.Command(bin, append(args, fmt.Sprintf("--laddr=tcp://127.0.0.1:%d", port))...)
	lp.cmd.Stdout, lp.cmd.Stderr = f, f
	lp.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := lp.cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		lp.err = lp.cmd.Wait()
		_ = f.Close()
		close(lp.done)
	}()
	t.Cleanup(func() {
		select {
		case <-lp.done:
		default:
			_ = syscall.Kill(-lp.cmd.Process.Pid, syscall.SIGKILL)
			<-lp.done
		}
		if t.Failed() {
			t.Logf("----- last lines of %s's log (%s) -----\n%s", name, lp.logPath, tail(lp.logPath, 40))
		}
	})
	return lp
}

// waitExit waits up to d for the process to end and returns its log and
// its exit error.
func (lp *lightProc) waitExit(t *testing.T, d time.Duration) (string, error) {
	t.Helper()
	select {
	case <-lp.done:
	case <-time.After(d):
		t.Fatalf("%s still running after %v", lp.name, d)
	}
	b, _ := os.ReadFile(lp.logPath)
	return string(b), lp.err
}

// waitProxy waits until the light proxy answers /status (it verifies the
// primary's latest header first), failing if the process exits.
func (lp *lightProc) waitProxy(t *testing.T, d time.Duration) *rpchttp.HTTP {
	t.Helper()
	poll(t, lp.name+"'s proxy to answer /status", d, func() (bool, error) {
		select {
		case <-lp.done:
			return false, fmt.Errorf("%s exited: %v\n%s", lp.name, lp.err, tail(lp.logPath, 30))
		default:
		}
		var st struct{}
		return rawCall(lp.proxy, "status", &st) == nil, nil
	})
	c, err := rpchttp.New(lp.proxy, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// blockHash is the block ID hash at height as the node at base reports it
// in /commit (the "trusted hash" a user would get out of band).
func blockHash(t *testing.T, base string, height int64) string {
	t.Helper()
	var res struct {
		SignedHeader struct {
			Commit struct {
				BlockID struct {
					Hash string `json:"hash"`
				} `json:"block_id"`
			} `json:"commit"`
		} `json:"signed_header"`
	}
	if err := rawCall(base, "commit?height="+strconv.FormatInt(height, 10), &res); err != nil {
		t.Fatal(err)
	}
	return res.SignedHeader.Commit.BlockID.Hash
}

// checkProxyMatchesNode checks, with CometBFT's RPC client, that the light
// proxy serves the same headers, commits, validators and blocks as the
// full node at node for heights 1..upTo, and that its status is at least
// upTo.
func checkProxyMatchesNode(t *testing.T, proxy *rpchttp.HTTP, nodeAddr string, upTo int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node, err := rpchttp.New(nodeAddr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	st, err := proxy.Status(ctx)
	if err != nil {
		t.Fatalf("proxy status: %v", err)
	}
	if st.SyncInfo.LatestBlockHeight < upTo {
		t.Fatalf("proxy status: latest verified height %d, want at least %d", st.SyncInfo.LatestBlockHeight, upTo)
	}
	for h := int64(1); h <= upTo; h++ {
		want, err := node.Commit(ctx, &h)
		if err != nil {
			t.Fatalf("node commit %d: %v", h, err)
		}
		got, err := proxy.Commit(ctx, &h)
		if err != nil {
			t.Fatalf("proxy commit %d: %v", h, err)
		}
		if got.Header.Height != h || !strings.EqualFold(got.Commit.BlockID.Hash.String(), want.Commit.BlockID.Hash.String()) ||
			got.Header.AppHash.String() != want.Header.AppHash.String() || len(got.Commit.Signatures) != len(want.Commit.Signatures) {
			t.Fatalf("height %d: proxy commit for %v (app hash %v), node's for %v (app hash %v)", h,
				got.Commit.BlockID.Hash, got.Header.AppHash, want.Commit.BlockID.Hash, want.Header.AppHash)
		}
		hdr, err := proxy.Header(ctx, &h)
		if err != nil || hdr.Header.Height != h || hdr.Header.ValidatorsHash.String() != want.Header.ValidatorsHash.String() {
			t.Fatalf("proxy header %d: %v %+v", h, err, hdr)
		}
		vals, err := proxy.Validators(ctx, &h, nil, nil)
		if err != nil || vals.Total != 4 || len(vals.Validators) != 4 {
			t.Fatalf("proxy validators %d: %v %+v", h, err, vals)
		}
		blk, err := proxy.Block(ctx, &h)
		if err != nil || blk.Block.Height != h || !strings.EqualFold(blk.BlockID.Hash.String(), want.Commit.BlockID.Hash.String()) {
			t.Fatalf("proxy block %d: %v", h, err)
		}
	}
}

// checkProxyServesTx commits a kvstore tx through the node at nodeAddr,
// waits (with waitHeight) for the height after it, and checks that the
// light proxy answers the key's abci_query, serves the block with the tx
// and matches the node up to that height, which it returns.
func checkProxyServesTx(t *testing.T, proxy *rpchttp.HTTP, nodeAddr string, waitHeight func(int64)) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node, err := rpchttp.New(nodeAddr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	res, err := node.BroadcastTxCommit(ctx, []byte("light=verified"))
	if err != nil || res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		t.Fatalf("broadcast_tx_commit to %s: %v %+v", nodeAddr, err, res)
	}
	waitHeight(res.Height + 1)
	q, err := proxy.ABCIQuery(ctx, "", []byte("light"))
	if err != nil || string(q.Response.Value) != "verified" {
		t.Fatalf("abci_query through the proxy: %v %+v", err, q)
	}
	checkProxyMatchesNode(t, proxy, nodeAddr, res.Height+1)
	blk, err := proxy.Block(ctx, &res.Height)
	if err != nil || len(blk.Block.Txs) != 1 || string(blk.Block.Txs[0]) != "light=verified" {
		t.Fatalf("proxy block %d: %v, want the tx", res.Height, err)
	}
	return res.Height + 1
}
