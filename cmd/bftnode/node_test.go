package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/internal/testport"
)

// ports hands out the loopback ports of this package's test nodes.
var ports = testport.New(30000, 32000)

func freePort(t *testing.T) int {
	t.Helper()
	return ports.Free(t)
}

// A one-validator node started by the CLI makes blocks, takes a tx through
// `bftnode tx`, answers `bftnode query`, and stops cleanly when cancelled.
func TestStartTxQueryStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: starts a node")
	}
	home := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", home, "--chain-id", "e2e", "--moniker", "solo")
	nodeURL, _, stop := startCLINode(t, home, 2)

	mustRun(t, "tx", "greeting=hello", "--node", nodeURL)
	if r := mustRun(t, "query", "greeting", "--node", nodeURL); !strings.HasPrefix(r.stdout, "greeting=hello (height ") {
		t.Fatalf("query: %q", r.stdout)
	}
	stop()
}

// startCLINode runs `bftnode start` for home in this process, on a free
// RPC port, until its latest height reaches h. It returns the RPC URL, the
// height reached and stop, which cancels the node and checks that it exits
// cleanly.
func startCLINode(t *testing.T, home string, h int) (nodeURL string, got int, stop func()) {
	t.Helper()
	rpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	nodeURL = "http://" + rpcAddr
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"start", "--home", home,
			"--rpc.laddr", "tcp://" + rpcAddr, "--p2p.laddr", "/ip4/127.0.0.1/tcp/0",
			"--consensus.timeout_commit", "50ms", "--log-level", "warn"},
			&stdout, &stderr, func(string) (string, bool) { return "", false })
	}()
	heightRE := regexp.MustCompile(`"latest_block_height": "(\d+)"`)
	deadline := time.Now().Add(60 * time.Second)
	for got < h {
		r := runCLI(t, nil, "status", "--node", nodeURL, "--timeout", "2s")
		if m := heightRE.FindStringSubmatch(r.stdout); m != nil {
			got, _ = strconv.Atoi(m[1])
		}
		select {
		case code := <-done:
			t.Fatalf("start exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no height %d within the deadline; last status: %s %s\nnode log:\n%s", h, r.stdout, r.stderr, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop = func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Fatalf("start exited %d after cancel:\n%s", code, stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatal("start did not stop after cancel")
		}
	}
	return nodeURL, got, stop
}

// memory_limit_mb becomes the runtime's soft memory limit, 0 leaves none,
// and GOMEMLIMIT, when set, wins over it.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	logger := slog.New(slog.DiscardHandler)
	noEnv := func(string) string { return "" }

	setMemoryLimit(48, noEnv, logger)
	if got := debug.SetMemoryLimit(-1); got != 48<<20 {
		t.Fatalf("limit %d after memory_limit_mb = 48, want %d", got, 48<<20)
	}
	setMemoryLimit(64, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	}, logger)
	if got := debug.SetMemoryLimit(-1); got != 48<<20 {
		t.Fatalf("limit %d: memory_limit_mb overrode GOMEMLIMIT", got)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit(0, noEnv, logger)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("limit %d after memory_limit_mb = 0, want none", got)
	}
}
