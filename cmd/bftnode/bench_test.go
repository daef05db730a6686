package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
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
		{[]string{"--out", filepath.Join(t.TempDir(), "missing", "blocks.csv")}, "--out"},
	} {
		args := append([]string{"bench", "--nodes", "http://127.0.0.1:1", "--duration", "1s"}, tc.args...)
		r := runCLI(t, nil, args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("bftnode %s: exit %d, stderr %q; want an error about %s", strings.Join(args, " "), r.code, r.stderr, tc.want)
		}
	}
}

// A run that never gets going leaves no empty --out file behind.
func TestBenchOutRemovedWithoutSummary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "blocks.csv")
	r := runCLI(t, nil, "bench", "--nodes", "http://127.0.0.1:1", "--duration", "1s", "--out", out)
	if r.code == 0 {
		t.Fatalf("bench against no node succeeded: %s", r.stdout)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out file after a failed run: %v", err)
	}
}

// Against a real one-validator node, --json prints the keys and
// --out writes one row per block that together hold every committed tx.
func TestBenchJSONAndBlocksCSV(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: starts a node")
	}
	home := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", home, "--chain-id", "bench", "--moniker", "solo")
	nodeURL, _, stop := startCLINode(t, home, 2)
	defer stop()
	out := filepath.Join(t.TempDir(), "blocks.csv")
	r := mustRun(t, "bench", "--nodes", nodeURL, "--duration", "1s", "--rate", "100", "--connections", "2",
		"--drain", "30s", "--json", "--out", out, "--log-level", "warn")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	num := func(k string) float64 {
		v, ok := got[k].(float64)
		if !ok {
			t.Errorf("JSON key %q = %v, want a number", k, got[k])
		}
		return v
	}
	committed := num("committed")
	if committed <= 0 || num("submitted") < committed || num("errors") != 0 || num("committed_tx_per_s") <= 0 || num("blocks_per_s") <= 0 {
		t.Errorf("JSON %s", r.stdout)
	}
	if p50, p95, p99 := num("p50_ms"), num("p95_ms"), num("p99_ms"); p50 <= 0 || p95 < p50 || p99 < p95 {
		t.Errorf("latencies p50 %v p95 %v p99 %v ms", p50, p95, p99)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "height,time,since_start_ms,txs,bench_txs,interval_ms,latency_mean_ms,latency_max_ms,last_commit_round" {
		t.Fatalf("CSV rows %q", rows)
	}
	sum, last := 0, int64(0)
	for _, row := range rows[1:] {
		h, _ := strconv.ParseInt(row[0], 10, 64)
		ours, err := strconv.Atoi(row[4])
		if err != nil || (last != 0 && h != last+1) {
			t.Errorf("CSV row %q after height %d", row, last)
		}
		sum, last = sum+ours, h
	}
	if float64(sum) != committed || float64(last) != num("last_height") {
		t.Errorf("CSV holds %d txs up to height %d; JSON %s", sum, last, r.stdout)
	}
}
