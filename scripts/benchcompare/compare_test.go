package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/bench"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{10, 1, 4, 3}, 3.5},
	} {
		in := slices.Clone(tc.in)
		if got := median(in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("median reordered its input: %v", in)
		}
	}
}

func TestRowRatioAndTarget(t *testing.T) {
	tx := rowSpec{name: "tx/s", value: func(r runResult) float64 { return r.TxPerS }, target: 5}
	r := tx.row([]runResult{{TxPerS: 1000}, {TxPerS: 3000}, {TxPerS: 2000}}, []runResult{{TxPerS: 9000}, {TxPerS: 11000}, {TxPerS: 10000}})
	if r.CometBFT != 2000 || r.Bftnode != 10000 || r.Ratio != 5 || r.Met == nil || !*r.Met {
		t.Fatalf("row = %+v; want medians 2000 and 10000, ratio 5, target met", r)
	}
	lat := rowSpec{name: "p50", value: func(r runResult) float64 { return r.P50Ms }, target: 0.1, atMost: true}
	r = lat.row([]runResult{{P50Ms: 400}}, []runResult{{P50Ms: 50}})
	if r.Ratio != 0.125 || r.Met == nil || *r.Met {
		t.Fatalf("row = %+v; want ratio 0.125, an at-most-0.1 target missed", r)
	}
	r = lat.row([]runResult{{P50Ms: 0}}, []runResult{{P50Ms: 50}})
	if r.Ratio != 0 || r.Met != nil {
		t.Fatalf("row over a zero CometBFT figure = %+v; want no ratio and no verdict", r)
	}
}

func TestParseBenchJSON(t *testing.T) {
	out := `{"start":"2026-12-07T18:00:00Z","duration_s":20,"committed":60000,"refused":4,"errors":1,"lost":2,"duplicates":3,
		"committed_tx_per_s":3000,"committed_tx_per_s_window_median":2900.5,"blocks_per_s":12.5,"p50_ms":40.5,"p99_ms":150,"last_height":321}`
	r, err := parseBenchJSON([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := runResult{TxPerS: 3000, BlocksPerS: 12.5, P50Ms: 40.5, P99Ms: 150, Committed: 60000, Refused: 4, Errors: 1, Lost: 2, Duplicates: 3}
	if r != want {
		t.Fatalf("parsed %+v, want %+v", r, want)
	}
	// A run is clean only without errors and lost txs; a refusal for
	// overload is an answer, not a failure.
	for _, tc := range []struct {
		r     runResult
		clean bool
	}{
		{runResult{Committed: 5, Duplicates: 0}, true},
		{runResult{Committed: 5, Refused: 1}, true},
		{runResult{Committed: 5, Errors: 1}, false},
		{runResult{Committed: 5, Lost: 1}, false},
	} {
		if got := tc.r.clean(); got != tc.clean {
			t.Errorf("%+v clean = %v, want %v", tc.r, got, tc.clean)
		}
	}
	for _, bad := range []string{"", "sent 10 committed 5", `{"committed":5}`, `{"last_height":3}`} {
		if _, err := parseBenchJSON([]byte(bad)); err == nil {
			t.Errorf("parseBenchJSON(%q) accepted it", bad)
		}
	}
}

func TestAddNodeUse(t *testing.T) {
	mk := func(cpu float64, hwm, disk int64) bench.NodeSample {
		return bench.NodeSample{ProcSample: bench.ProcSample{CPUSeconds: cpu, HWMBytes: hwm}, DiskAllocated: disk}
	}
	before := []bench.NodeSample{mk(1, 10, 1000), mk(2, 20, 1000)}
	after := []bench.NodeSample{mk(3, 50, 5000), mk(4, 40, 3000)}
	r := runResult{Committed: 1000}
	r.addNodeUse(before, after)
	// CPU: (2+2) s over 1000 txs and 2 nodes; disk: (4000+2000) B likewise.
	if r.PeakRSSBytes != 50 || r.CPUSecPerTx != 0.002 || r.DiskBytesPerTx != 3 {
		t.Fatalf("node use %+v; want worst peak 50, 0.002 CPU s and 3 B per tx per node", r)
	}
	none := runResult{}
	none.addNodeUse(before, after)
	if none.CPUSecPerTx != 0 || none.DiskBytesPerTx != 0 || none.PeakRSSBytes != 50 {
		t.Fatalf("node use without commits %+v; want no per-tx figures", none)
	}
}

func TestPendingCaps(t *testing.T) {
	if got, want := pendingCaps(5000), []int64{1000, 2000, 4000, 4500}; !slices.Equal(got, want) {
		t.Errorf("pendingCaps(5000) = %v, want %v", got, want)
	}
	if got, want := pendingCaps(10000), []int64{1000, 2000, 4000, 8000, 9000}; !slices.Equal(got, want) {
		t.Errorf("pendingCaps(10000) = %v, want %v", got, want)
	}
}

func TestBestCap(t *testing.T) {
	// A noisy dip at 2000 does not end the search; 8000 falls back.
	rates := map[int64]float64{1000: 1000, 2000: 900, 4000: 1850, 8000: 1700}
	var tried []int64
	best, rate, err := bestCap([]int64{1000, 2000, 4000, 8000}, func(c int64) (float64, bool, error) {
		tried = append(tried, c)
		return rates[c], true, nil
	})
	if err != nil || best != 4000 || rate != 1850 || !slices.Equal(tried, []int64{1000, 2000, 4000, 8000}) {
		t.Fatalf("bestCap = %d, %v, %v after trying %v; want 4000 at 1850 after trying all", best, rate, err, tried)
	}
	// A faster run with failed or lost txs loses to a clean one.
	best, _, _ = bestCap([]int64{1000, 2000, 4000}, func(c int64) (float64, bool, error) { return float64(c), c != 4000, nil })
	if best != 2000 {
		t.Fatalf("with the fastest run unclean bestCap = %d, want 2000", best)
	}
	// With no clean run the fastest wins.
	best, _, _ = bestCap([]int64{1000, 2000}, func(c int64) (float64, bool, error) { return float64(c), false, nil })
	if best != 2000 {
		t.Fatalf("with no clean run bestCap = %d, want 2000", best)
	}
	boom := errors.New("boom")
	if _, _, err := bestCap([]int64{1000}, func(int64) (float64, bool, error) { return 0, false, boom }); !errors.Is(err, boom) {
		t.Fatalf("bestCap error = %v, want the measurement's", err)
	}
}

func TestParseOptions(t *testing.T) {
	env := map[string]string{"BENCH_QUICK": "1", "BENCH_FIGURES": "tx250,idle"}
	o, err := parseOptions(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !o.quick || o.runs != 1 || !slices.Equal(o.figures, []string{"tx250", "idle"}) || o.load >= 20e9 {
		t.Fatalf("options %+v; want quick, 1 run, figures tx250 and idle, a short load", o)
	}
	o, err = parseOptions([]string{"-runs", "5"}, func(k string) string { return env[k] })
	if err != nil || o.runs != 5 {
		t.Fatalf("-runs 5 with BENCH_QUICK gave runs %d (%v); want 5", o.runs, err)
	}
	for _, bad := range [][]string{{"-figures", "tx250,bogus"}, {"-runs", "0"}} {
		if _, err := parseOptions(bad, func(string) string { return "" }); err == nil {
			t.Errorf("parseOptions(%v) accepted it", bad)
		}
	}
	if _, err := parseOptions(nil, func(k string) string { return map[string]string{"BENCH_RUNS": "three"}[k] }); err == nil || !strings.Contains(err.Error(), "BENCH_RUNS") {
		t.Errorf("BENCH_RUNS=three: error %v, want one naming BENCH_RUNS", err)
	}
}

func TestEditCometConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	// As `cometbft testnet` writes it: duplicate IPs allowed already.
	in := "[p2p]\naddr_book_strict = false\nallow_duplicate_ip = true\n[consensus]\ntimeout_commit = \"1s\"\nskip_timeout_commit = false\n"
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := editCometConfig(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(in, `timeout_commit = "1s"`, `timeout_commit = "0s"`, 1)
	if string(got) != want {
		t.Fatalf("edited config:\n%s\nwant:\n%s", got, want)
	}
	// A config without the setting (another version) is refused.
	if err := os.WriteFile(path, []byte("[consensus]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := editCometConfig(path); err == nil || !strings.Contains(err.Error(), "timeout_commit") {
		t.Fatalf("config without timeout_commit: error %v, want one naming it", err)
	}
}

func TestWriteTable(t *testing.T) {
	met := true
	r := &report{
		Machine: "cpu", CPUs: 2, LoadStart: "1.00 1.00 1.00", LoadEnd: "2.00 2.00 2.00", Command: "make bench-compare", Runs: 3, CometBFT: "v0.40.0",
		MaxPending: map[string]map[string]int64{"tx250": {cometName: 4500, bftName: 1000}},
		Faults:     map[string]faults{bftName: {Lost: 2}, cometName: {Refused: 7}},
		Rows:       []row{{Name: "committed tx/s, 250 B, flat out", Unit: "tx/s", CometBFT: 2000, Bftnode: 10000, Ratio: 5, Target: "≥ 5×", Met: &met}},
	}
	var b strings.Builder
	if err := r.writeTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"load average 1.00 1.00 1.00 at the start",
		"| committed tx/s, 250 B, flat out (tx/s) | 2000 | 10000 | 5.00× | ≥ 5× met |",
		"bftnode: 0 refused (mempool full), 0 errors, 2 lost, 0 duplicate txs over all runs; --max-pending tx250 1000",
		"cometbft: 7 refused (mempool full), 0 errors, 0 lost, 0 duplicate txs over all runs; --max-pending tx250 4500",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
