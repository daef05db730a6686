package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// bftnodeBin is the bftnode binary that TestMain builds from this tree, in
// binDir.
var bftnodeBin, binDir string

// TestMain builds bftnode once for every test of the package; run with
// signerEnv set, the binary is a remote signer process instead.
func TestMain(m *testing.M) {
	if spec, ok := os.LookupEnv(signerEnv); ok {
		os.Exit(runSignerProcess(spec))
	}
	dir, err := os.MkdirTemp("", "bftnode-interop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
	binDir = dir
	bftnodeBin = filepath.Join(dir, "bftnode")
	if err := goBuild(bftnodeBin, "./cmd/bftnode"); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild builds package pkg of this tree into the binary out.
func goBuild(out, pkg string) error {
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir = filepath.Join("..", "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

var (
	simBinOnce sync.Once
	simBinErr  error
)

// bftnodeSimBin is the bftnode-sim development binary (the simulator with
// Byzantine validators), built from this tree on first use.
func bftnodeSimBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "bftnode-sim")
	simBinOnce.Do(func() { simBinErr = goBuild(bin, "./internal/byzantine/cmd/bftnode-sim") })
	if simBinErr != nil {
		t.Fatal(simBinErr)
	}
	return bin
}
