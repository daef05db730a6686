package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
)

// `start --byzantine` is refused with a clear error on a chain whose
// genesis does not allow test modes, and for an unknown mode; with the
// genesis gate the node starts in the mode.
func TestStartByzantineNeedsGenesisGate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", home, "--chain-id", "byz", "--moniker", "solo")
	rpc := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	args := []string{"start", "--home", home, "--rpc.laddr", rpc, "--p2p.laddr", "/ip4/127.0.0.1/tcp/0", "--log-level", "warn"}

	r := runCLI(t, nil, append(args, "--byzantine", "doublevote")...)
	if r.code == exitOK || !strings.Contains(r.stderr, "bftnode_allow_byzantine_test_modes") {
		t.Fatalf("without the gate: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, append(args, "--byzantine", "forge")...)
	if r.code == exitOK || !strings.Contains(r.stderr, "equivocate") {
		t.Fatalf("unknown mode: exit %d, stderr %q", r.code, r.stderr)
	}

	gfile := filepath.Join(home, "config", "genesis.json")
	g, err := config.LoadGenesis(gfile)
	if err != nil {
		t.Fatal(err)
	}
	g.AllowByzantineTestModes = true
	if err := g.Save(gfile); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(args, "--byzantine", "doublevote"), &stdout, &stderr, func(string) (string, bool) { return "", false })
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "BYZANTINE TEST MODE") {
		select {
		case code := <-done:
			t.Fatalf("start exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Byzantine mode warning:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "mode=doublevote") {
		t.Fatalf("warning does not name the mode:\n%s", stderr.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("start exited %d after cancel:\n%s", code, stderr.String())
	}
}
