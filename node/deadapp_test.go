package node

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/abcisocket"
)

// TestDeadAppStopsNode: when the out-of-process application goes away, the
// node stops with an error that names the application, rather than going
// on without it; restarted against the application again, it resumes from
// its stores with nothing committed lost.
func TestDeadAppStopsNode(t *testing.T) {
	cfgs := testnet(t, 1, 0)
	cfg := cfgs[0]
	kv := openKVStore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ProxyApp = abcisocket.URL(ln)
	appCtx, stopApp := context.WithCancel(context.Background())
	appDone := make(chan error, 1)
	go func() { appDone <- (&abcisocket.Server{App: kv}).Serve(appCtx, ln) }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	c := client(t, cfg)
	waitHeight(t, c, 1, time.Minute)
	var res struct {
		Height string `json:"height"`
	}
	if err := c.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte("kept=yes")}, &res); err != nil {
		t.Fatal(err)
	}
	committed, err := height(ctx, c)
	if err != nil {
		t.Fatal(err)
	}

	stopApp() // the application dies
	<-appDone
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "application") {
			t.Fatalf("node stopped with %v, want an error naming the application", err)
		}
		t.Logf("node stopped: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the node kept running without its application")
	}

	// The application comes back (same state directory); the node resumes.
	ln2, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	appCtx2, stopApp2 := context.WithCancel(context.Background())
	defer stopApp2()
	go func() { _ = (&abcisocket.Server{App: kv}).Serve(appCtx2, ln2) }()
	start(t, cfg)
	waitHeight(t, c, committed+2, time.Minute)
	var q struct {
		Response struct {
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if err := c.Call(ctx, "abci_query", map[string]any{"path": "/key", "data": "6B657074"}, &q); err != nil {
		t.Fatal(err)
	}
	if string(q.Response.Value) != "yes" {
		t.Fatalf("after the restart kept = %q, want yes", q.Response.Value)
	}
}
