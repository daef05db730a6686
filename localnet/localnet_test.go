// Package localnet_test runs the README's first command as a user would:
// `make localnet` brings up four validators, node0 serving the web view,
// then `bftnode tx`, `bftnode query` and curl's URI form of
// broadcast_tx_commit work against node0.
package localnet_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: starts a 4-validator network of real processes")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := run(t, root, "make", "localnet", "LOCALNET_FLAGS=--detach --dir "+dir)
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"node0", "node1", "node2", "node3"} {
				if b, err := os.ReadFile(filepath.Join(dir, n, "node.log")); err == nil {
					t.Logf("%s log tail:\n%s", n, tail(string(b), 30))
				}
			}
		}
		run(t, root, "localnet/stop.sh", dir)
	})
	if !strings.Contains(out, "bftnode tx foo=bar") {
		t.Errorf("make localnet does not say how to submit a tx:\n%s", out)
	}

	// node0 serves the web view, and says where; the others do not.
	if !strings.Contains(out, "http://127.0.0.1:26657/ui/") {
		t.Errorf("make localnet does not print the web view's URL:\n%s", out)
	}
	for url, want := range map[string]int{"http://127.0.0.1:26657/ui/": http.StatusOK, "http://127.0.0.1:26667/ui/": http.StatusNotFound} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || want == http.StatusOK && !strings.Contains(string(page), "app.js") {
			t.Errorf("GET %s: %s, want %d (the web view on node0 only)", url, resp.Status, want)
		}
	}

	bftnode := filepath.Join(root, "build", "bftnode")
	if out := run(t, root, bftnode, "tx", "foo=bar"); !strings.Contains(out, `"height"`) {
		t.Fatalf("bftnode tx foo=bar did not report a commit height:\n%s", out)
	}
	if out := run(t, root, bftnode, "query", "foo"); !strings.Contains(out, "foo=bar") {
		t.Fatalf("bftnode query foo = %q, want bar", out)
	}
	resp, err := http.Get(`http://127.0.0.1:26657/broadcast_tx_commit?tx="a=b"`)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"tx_result":{"code":0`) {
		t.Fatalf("curl broadcast_tx_commit: %s %s", resp.Status, body)
	}
	if out := run(t, root, bftnode, "query", "a"); !strings.Contains(out, "a=b") {
		t.Fatalf("bftnode query a = %q, want b", out)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
