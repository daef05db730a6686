package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimTraceWritesOneRun: --trace writes a run that the summary counts,
// starting with the header line, and refuses more than one seed.
func TestSimTraceWritesOneRun(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "run.jsonl")
	r := runCLI(t, nil, "sim", "--validators", "4", "--heights", "3", "--seed", "7", "--trace", trace)
	if r.code != exitOK || !strings.Contains(r.stdout, "runs:                1 (seeds 7..7)") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if !strings.HasPrefix(first, `{"k":"header","replay":"bftnode sim --validators 4 --heights 3 --gst `) || !strings.Contains(string(b), `"k":"decide"`) {
		t.Fatalf("trace starts %q and has no decision", first)
	}

	r = runCLI(t, nil, "sim", "--seeds", "2", "--trace", trace)
	if r.code != exitError || !strings.Contains(r.stderr, "--seeds 1") {
		t.Fatalf("--trace with 2 seeds: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestUIMissingTrace: `bftnode ui` on a file that is not there says how to
// make one.
func TestUIMissingTrace(t *testing.T) {
	r := runCLI(t, nil, "ui", filepath.Join(t.TempDir(), "none.jsonl"))
	if r.code != exitError || !strings.Contains(r.stderr, "bftnode sim --seed N --trace FILE") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}
