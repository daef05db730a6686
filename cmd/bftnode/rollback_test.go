package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/config"
)

// runNodeUntil runs the home's node until its latest height reaches h and
// stops it; it returns that height.
func runNodeUntil(t *testing.T, home string, h int) int {
	t.Helper()
	_, got, stop := startCLINode(t, home, h)
	stop()
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
		t.Skip("skipped under -short: starts a node")
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
