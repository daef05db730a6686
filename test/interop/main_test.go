package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bftnodeBin is the bftnode binary that TestMain builds from this tree.
var bftnodeBin string

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
	bftnodeBin = filepath.Join(dir, "bftnode")
	build := exec.Command("go", "build", "-o", bftnodeBin, "./cmd/bftnode")
	build.Dir = filepath.Join("..", "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: go build ./cmd/bftnode:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
