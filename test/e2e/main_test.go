package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var (
	seedFlag = flag.Int64("seed", 0, "seed of the random scenarios and the kill moments (0: BFTNODE_E2E_SEED, else 1 in the short form and the clock in the long form)")
	// binPath is the bftnode binary built by TestMain.
	binPath string
	// byzBinPath is the test-only bftnode-byzantine binary, built by
	// TestMain, that runs a Byzantine validator.
	byzBinPath string
)

// TestMain builds bftnode and bftnode-byzantine once for every test of
// the package.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "bftnode-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "bftnode")
	byzBinPath = filepath.Join(dir, "bftnode-byzantine")
	for _, b := range []struct{ out, pkg string }{
		{binPath, "./cmd/bftnode"},
		{byzBinPath, "./internal/byzantine/cmd/bftnode-byzantine"},
	} {
		build := exec.Command("go", "build", "-o", b.out, b.pkg)
		build.Dir = filepath.Join("..", "..")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n", b.pkg, err)
			_ = os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// longForm reports whether BFTNODE_LONG asks for the long runs.
func longForm() bool {
	v, _ := strconv.ParseBool(os.Getenv("BFTNODE_LONG"))
	return v
}

// longDuration is how long each long-form run applies faults:
// BFTNODE_E2E_DURATION (a Go duration), else 15 minutes (four runs take
// about an hour).
func longDuration(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("BFTNODE_E2E_DURATION")
	if s == "" {
		return 15 * time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("BFTNODE_E2E_DURATION=%q: want a positive Go duration such as 10m", s)
	}
	return d
}

// testSeed is the seed of this run: -seed, else BFTNODE_E2E_SEED, else 1
// in the short form (so `make test` is repeatable) and the clock in the
// long form (so long runs explore).
func testSeed(t *testing.T) int64 {
	t.Helper()
	if *seedFlag != 0 {
		return *seedFlag
	}
	if s := os.Getenv("BFTNODE_E2E_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("BFTNODE_E2E_SEED=%q: want an integer", s)
		}
		return n
	}
	if longForm() {
		return time.Now().UnixNano() % 1_000_000_000
	}
	return 1
}

// skipShort skips the suite under -short: it runs real processes.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: runs real bftnode processes for minutes; skipped under -short")
	}
}
