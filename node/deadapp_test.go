package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/rpc"
)

// fault is how a faulty application fails a request: nc is the node's
// connection it came on, closeAll closes every connection of the
// application and stops it listening.
type fault func(nc net.Conn, closeAll func())

// holdOpen keeps nc open until the node closes it, as an application that
// wrote something wrong and waits would.
func holdOpen(nc net.Conn) { _, _ = io.Copy(io.Discard, nc) }

// serveFaultyApp serves kv over an ABCI socket through a relay that passes
// every request on until the block holding the tx trigger: then it fails
// that block's FinalizeBlock, or with onCommit its Commit, with f instead
// of passing it on.
func serveFaultyApp(t *testing.T, kv *kvstore.App, trigger []byte, onCommit bool, f fault) string {
	t.Helper()
	upstream := strings.TrimPrefix(serveApp(t, kv), "tcp://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	closeAll := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		closeAll()
		wg.Wait()
	})
	relay := func(nc, up net.Conn) {
		defer nc.Close()
		defer up.Close()
		r := bufio.NewReader(nc)
		armed := false // the trigger's FinalizeBlock has been passed on
		for {
			var req abci.Request
			if abcisocket.ReadMessage(r, &req, abcisocket.DefaultMaxMessageSize) != nil {
				return
			}
			if fb := req.GetFinalizeBlock(); fb != nil && slices.ContainsFunc(fb.Txs, func(tx []byte) bool { return bytes.Equal(tx, trigger) }) {
				armed = true
			}
			if armed && (!onCommit || req.GetCommit() != nil) {
				f(nc, closeAll)
				return
			}
			if abcisocket.WriteMessage(up, &req) != nil {
				return
			}
		}
	}
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				nc.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, nc, up)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(nc, up) }) // the responses
			wg.Go(func() { relay(nc, up) })
		}
	})
	return abcisocket.URL(ln)
}

// TestFaultyAppStopsNode: an out-of-process application that goes away,
// closes the consensus connection, answers garbage or answers a frame
// larger than the limit, in the middle of a block (in FinalizeBlock, or in
// Commit after the node stored the block) stops the node cleanly with an
// error, in its log too, that names the application and the fault; it does
// not go on without its application. Restarted against a good application
// with the same state, the node resumes from its stores: what was
// committed before is there, and so is the block the fault interrupted.
func TestFaultyAppStopsNode(t *testing.T) {
	tests := []struct {
		name     string
		onCommit bool
		fault    fault
		want     error  // wrapped by the node's error
		wantText string // in the node's error and log
	}{
		{"application dies", true, func(_ net.Conn, closeAll func()) { closeAll() },
			abcisocket.ErrAppDead, "connection closed by the application"},
		{"consensus connection closed", false, func(net.Conn, func()) {},
			abcisocket.ErrAppDead, "connection closed by the application"},
		{"garbage", false, func(nc net.Conn, _ func()) {
			_, _ = nc.Write([]byte{4, 0xff, 0xff, 0xff, 0xff})
			holdOpen(nc)
		}, abcisocket.ErrBadFrame, "malformed abci frame"},
		{"frame over the limit", true, func(nc net.Conn, _ func()) {
			_, _ = nc.Write(binary.AppendUvarint(nil, abcisocket.DefaultMaxMessageSize+1))
			holdOpen(nc)
		}, abcisocket.ErrMessageTooLarge, "abci message too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testnet(t, 1, 0)[0]
			kv := openKVStore(t)
			cfg.ProxyApp = serveFaultyApp(t, kv, []byte("boom=1"), tt.onCommit, tt.fault)
			logPath := filepath.Join(t.TempDir(), "node.log")
			log, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n, err := New(ctx, cfg, slog.New(slog.NewTextHandler(log, nil)))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- n.Run(ctx) }()
			c := client(t, cfg)
			waitHeight(t, c, 1, time.Minute)
			if err := c.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte("kept=yes")}, &struct{}{}); err != nil {
				t.Fatal(err)
			}
			if err := c.Call(ctx, "broadcast_tx_sync", map[string]any{"tx": []byte("boom=1")}, &struct{}{}); err != nil {
				t.Fatal(err)
			}

			select {
			case err := <-done:
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) ||
					!strings.Contains(err.Error(), "connection to "+cfg.ProxyApp) || !strings.Contains(err.Error(), "restart") {
					t.Fatalf("node stopped with %v, want an error wrapping %q, saying %q, naming the application's address and what to do", err, tt.want, tt.wantText)
				}
				t.Logf("node stopped: %v", err)
			case <-time.After(time.Minute):
				t.Fatal("the node kept running without its application")
			}
			logged, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(logged), "node part failed") || !strings.Contains(string(logged), tt.wantText) {
				t.Fatalf("the node's log does not report the failure:\n%s", logged)
			}

			// A good application with the same state: the node reopens its
			// stores and resumes.
			cfg.ProxyApp = serveApp(t, kv)
			start(t, cfg)
			waitFor(t, "the interrupted block to be committed after the restart", time.Minute, func() (bool, error) {
				return queryKey(ctx, c, "boom") == "1", nil
			})
			if got := queryKey(ctx, c, "kept"); got != "yes" {
				t.Fatalf("after the restart kept = %q, want yes", got)
			}
			h, err := height(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			waitHeight(t, c, h+2, time.Minute)
		})
	}
}

// queryKey is the committed value of key in the kvstore behind c, "" if
// the query fails.
func queryKey(ctx context.Context, c *rpc.Client, key string) string {
	var q struct {
		Response struct {
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if err := c.Call(ctx, "abci_query", map[string]any{"path": "/key", "data": fmt.Sprintf("%X", key)}, &q); err != nil {
		return ""
	}
	return string(q.Response.Value)
}
