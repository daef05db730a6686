package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bftnode/bftnode/bench"
)

// runResult is what one run of one figure measured on one system.
type runResult struct {
	// TxPerS is committed tx/s over the run (committed / time from the
	// load's start to the last commit): the median of the 1-second windows
	// is 0 when blocks come less than once a second, as CometBFT's do on a
	// loaded machine.
	TxPerS     float64
	BlocksPerS float64
	P50Ms      float64
	P99Ms      float64
	Committed  int64
	Refused    int64 // refused for overload (mempool full)
	Errors     int64
	Lost       int64
	Duplicates int64
	// Measured from outside the nodes, over the run: the worst node's
	// peak RSS, and per committed tx and node the mean disk growth and
	// CPU time.
	PeakRSSBytes   int64
	DiskBytesPerTx float64
	CPUSecPerTx    float64
}

// clean reports whether every tx of the run was committed or refused
// with an answer that says so: by the application (CheckTx) or by the
// node's admission control ("mempool is full", which bftnode also answers
// once txs wait longer than [mempool] max_tx_wait, so a flat-out run past
// that wait has refusals). No failed submission and no lost tx. Refusals
// are counted and printed apart.
func (r runResult) clean() bool { return r.Errors == 0 && r.Lost == 0 }

// parseBenchJSON reads the summary `bftnode bench --json` prints.
func parseBenchJSON(b []byte) (runResult, error) {
	var s struct {
		Committed  *int64  `json:"committed"`
		Refused    int64   `json:"refused"`
		Errors     int64   `json:"errors"`
		Lost       int64   `json:"lost"`
		Duplicates int64   `json:"duplicates"`
		TxPerS     float64 `json:"committed_tx_per_s"`
		BlocksPerS float64 `json:"blocks_per_s"`
		P50Ms      float64 `json:"p50_ms"`
		P99Ms      float64 `json:"p99_ms"`
		LastHeight int64   `json:"last_height"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return runResult{}, fmt.Errorf("bench output is not its JSON summary (%v): %.200q", err, b)
	}
	if s.Committed == nil || s.LastHeight == 0 {
		return runResult{}, fmt.Errorf("bench output lacks committed or last_height: %.200q", b)
	}
	return runResult{
		TxPerS: s.TxPerS, BlocksPerS: s.BlocksPerS, P50Ms: s.P50Ms, P99Ms: s.P99Ms,
		Committed: *s.Committed, Refused: s.Refused, Errors: s.Errors, Lost: s.Lost, Duplicates: s.Duplicates,
	}, nil
}

// addNodeUse fills r's resource figures from samples of every node taken
// before and after the run.
func (r *runResult) addNodeUse(before, after []bench.NodeSample) {
	var disk int64
	var cpu float64
	for i := range after {
		r.PeakRSSBytes = max(r.PeakRSSBytes, after[i].HWMBytes)
		disk += after[i].DiskAllocated - before[i].DiskAllocated
		cpu += after[i].CPUSeconds - before[i].CPUSeconds
	}
	if r.Committed > 0 && len(after) > 0 {
		per := float64(r.Committed) * float64(len(after))
		r.DiskBytesPerTx, r.CPUSecPerTx = float64(disk)/per, cpu/per
	}
}

// median of xs (0 for none); xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// ratio is b/a, 0 when a is 0.
func ratio(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return b / a
}

// row is one line of the comparison: a figure of one figure's runs.
type row struct {
	Name     string    `json:"name"`
	Unit     string    `json:"unit"`
	CometBFT float64   `json:"cometbft"`
	Bftnode  float64   `json:"bftnode"`
	Ratio    float64   `json:"ratio"` // bftnode / CometBFT
	Target   string    `json:"target,omitempty"`
	Met      *bool     `json:"met,omitempty"`
	CometRun []float64 `json:"cometbft_runs"`
	BftRun   []float64 `json:"bftnode_runs"`
}

// rowSpec says how a row is computed from a figure's runs.
type rowSpec struct {
	name, unit string
	value      func(runResult) float64
	// target is the ratio bftnode/CometBFT to reach: at least it, or with
	// atMost at most it; 0 for none.
	target float64
	atMost bool
}

func (rs rowSpec) row(comet, bft []runResult) row {
	r := row{Name: rs.name, Unit: rs.unit}
	for _, c := range comet {
		r.CometRun = append(r.CometRun, rs.value(c))
	}
	for _, b := range bft {
		r.BftRun = append(r.BftRun, rs.value(b))
	}
	r.CometBFT, r.Bftnode = median(r.CometRun), median(r.BftRun)
	r.Ratio = ratio(r.CometBFT, r.Bftnode)
	if rs.target > 0 && r.CometBFT > 0 {
		met := r.Ratio >= rs.target
		r.Target = fmt.Sprintf("≥ %g×", rs.target)
		if rs.atMost {
			met = r.Ratio <= rs.target
			r.Target = fmt.Sprintf("≤ %g×", rs.target)
		}
		r.Met = &met
	}
	return r
}

// report is the outcome of a comparison.
type report struct {
	Date      time.Time `json:"date"`
	Machine   string    `json:"machine"`
	CPUs      int       `json:"cpus"`
	LoadStart string    `json:"loadavg_start"`
	LoadEnd   string    `json:"loadavg_end"`
	Command   string    `json:"command"`
	Runs      int       `json:"runs"`
	Quick     bool      `json:"quick"`
	CometBFT  string    `json:"cometbft_version"`
	// MaxPending is the --max-pending each flat-out figure used, by figure
	// and system.
	MaxPending map[string]map[string]int64 `json:"max_pending"`
	// Faults are the refused, errors, lost and duplicate txs summed over all runs,
	// by system.
	Faults map[string]faults `json:"faults"`
	Rows   []row             `json:"rows"`
}

type faults struct {
	Refused    int64 `json:"refused"`
	Errors     int64 `json:"errors"`
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
}

// writeTable writes r as a Markdown table with a header saying when, where
// and how it was measured.
func (r *report) writeTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s (%d CPUs), load average %s at the start and %s at the end\n",
		r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Machine, r.CPUs, r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "command: %s (medians of %d runs per system, alternating; CometBFT %s)\n\n", r.Command, r.Runs, r.CometBFT)
	b.WriteString("| figure | CometBFT | bftnode | ratio | target |\n| --- | --- | --- | --- | --- |\n")
	for _, x := range r.Rows {
		target := x.Target
		if x.Met != nil {
			target += map[bool]string{true: " met", false: " missed"}[*x.Met]
		}
		fmt.Fprintf(&b, "| %s (%s) | %s | %s | %.2f× | %s |\n", x.Name, x.Unit, num(x.CometBFT), num(x.Bftnode), x.Ratio, target)
	}
	b.WriteString("\n")
	for _, sys := range []string{cometName, bftName} {
		f := r.Faults[sys]
		fmt.Fprintf(&b, "%s: %d refused (mempool full), %d errors, %d lost, %d duplicate txs over all runs", sys, f.Refused, f.Errors, f.Lost, f.Duplicates)
		var caps []string
		for _, fig := range allFigures() {
			if c, ok := r.MaxPending[fig.key][sys]; ok {
				caps = append(caps, fmt.Sprintf("%s %d", fig.key, c))
			}
		}
		if len(caps) > 0 {
			fmt.Fprintf(&b, "; --max-pending %s", strings.Join(caps, ", "))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num prints v with a precision that suits its size.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
