package byzantine

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNotInProductionBinary: the bftnode command links no package of this
// tree whose path names a Byzantine mode; only tests and the
// bftnode-byzantine binary do.
func TestNotInProductionBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/bftnode/bftnode/cmd/bftnode").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages:\n%s", len(deps), out)
	}
	for _, p := range deps {
		if strings.Contains(p, "/internal/byzantine") {
			t.Errorf("cmd/bftnode depends on %s", p)
		}
	}
	out, err = exec.Command("go", "list", "-deps", "github.com/bftnode/bftnode/internal/byzantine/cmd/bftnode-byzantine").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/bftnode/bftnode/internal/byzantine\n") {
		t.Fatalf("bftnode-byzantine does not link this package: %v\n%s", err, out)
	}
}
