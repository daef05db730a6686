package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
)

// runNodeUntil runs the home's node until its latest height reaches h and
// stops it; it returns that height.
func runNodeUntil(t *testing.T, home string, h int) int {
	t.Helper()
	rpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
	got := 0
	for got < h {
		r := runCLI(t, nil, "status", "--node", "http://"+rpcAddr, "--timeout", "2s")
		if m := heightRE.FindStringSubmatch(r.stdout); m != nil {
			got, _ = strconv.Atoi(m[1])
		}
		select {
		case code := <-done:
			t.Fatalf("start exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no height %d within the deadline; node log:\n%s", h, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("start exited %d after cancel:\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("start did not stop after cancel")
	}
	return got
}

func TestRollbackRefusesWithoutBlocks(t *testing.T) {
	home := initHome(t)
	r := runCLI(t, nil, "rollback", "--home", home)
	if r.code == 0 || !strings.Contains(r.stderr, "nothing to roll back") {
		t.Fatalf("rollback of a new home: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A node is rolled back softly, then hard, and starts again.
func TestRollbackCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	home := initHome(t)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNodeUntil(t, home, 3)
	signState, err := os.ReadFile(cfg.PrivValidatorStateFile())
	if err != nil {
		t.Fatal(err)
	}

	r := mustRun(t, "rollback", "--home", home)
	m := regexp.MustCompile(`rolled back the state to height (\d+); block (\d+) stays`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("rollback:\n%s", r.stdout)
	}
	h, _ := strconv.Atoi(m[2])
	if !strings.Contains(r.stdout, fmt.Sprintf("built-in application is at height %d", h)) {
		t.Fatalf("rollback does not report the application's height %d:\n%s", h, r.stdout)
	}

	r = runCLI(t, nil, "rollback", "--home", home)
	if r.code == 0 || !strings.Contains(r.stderr, "rollback refused") || !strings.Contains(r.stderr, "rolled back already") || !strings.Contains(r.stderr, "--hard") {
		t.Fatalf("second soft rollback: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = mustRun(t, "rollback", "--hard", "--home", home)
	if !strings.Contains(r.stdout, fmt.Sprintf("rolled back the state to height %d and deleted block %d", h-1, h)) ||
		!strings.Contains(r.stdout, "remove "+cfg.AppDBDir()) {
		t.Fatalf("hard rollback:\n%s", r.stdout)
	}
	if got, _ := os.ReadFile(cfg.PrivValidatorStateFile()); !bytes.Equal(got, signState) {
		t.Fatalf("rollback changed the last-sign state:\n%s\nwas\n%s", got, signState)
	}

	// As told: remove the application's database and start again.
	if err := os.RemoveAll(cfg.AppDBDir()); err != nil {
		t.Fatal(err)
	}
	runNodeUntil(t, home, h+1)
	if _, err := os.Stat(filepath.Join(cfg.AppDBDir())); err != nil {
		t.Fatalf("the node did not rebuild its application: %v", err)
	}
}
