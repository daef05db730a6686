package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-pending", "-1"}, "max pending"},
		{[]string{"--connections", "0", "--http"}, "connections"},
		{[]string{"--cpuprofile", filepath.Join(t.TempDir(), "missing", "cpu.prof")}, "--cpuprofile"},
	} {
		args := append([]string{"bench", "--nodes", "http://127.0.0.1:1", "--duration", "1s"}, tc.args...)
		r := runCLI(t, nil, args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("bftnode %s: exit %d, stderr %q; want an error about %s", strings.Join(args, " "), r.code, r.stderr, tc.want)
		}
	}
}
