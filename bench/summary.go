package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is the result of a benchmark run. Durations are in JSON as
// nanoseconds; byte counts in bytes.
type Summary struct {
	Duration   time.Duration `json:"duration_ns"` // the load period
	TxSize     int           `json:"tx_size"`
	Rate       float64       `json:"target_rate"` // 0 for flat out
	Mode       string        `json:"mode"`        // async or sync
	NoLoad     bool          `json:"no_load"`     // nothing was submitted on purpose
	Submitted  int64         `json:"submitted"`
	Rejected   int64         `json:"rejected"`
	Committed  int64         `json:"committed"`
	Duplicates int64         `json:"duplicates"` // txs committed more than once
	Foreign    int64         `json:"foreign"`    // txs seen that were not this run's
	Lost       int64         `json:"lost"`       // submitted, not rejected, not committed by the end

	TxPerSecMedian  float64 `json:"tx_per_sec_median"`  // median of the 1-second windows of the load period
	TxPerSecOverall float64 `json:"tx_per_sec_overall"` // committed / (last commit − load start)

	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
	LatencyMax time.Duration `json:"latency_max_ns"`

	Blocks        int     `json:"blocks"`          // blocks received during the load period
	MeanBlockTxs  float64 `json:"mean_block_txs"`  // their mean number of txs
	LateRounds    int     `json:"late_rounds"`     // of them, how many followed a height decided in round > 0
	Heights       int64   `json:"heights"`         // heights advanced during the load period
	HeightsPerSec float64 `json:"heights_per_sec"` // Heights / Duration
	LastHeight    int64   `json:"last_height"`

	// ClientCPUSeconds is the CPU time the benchmark itself used during the
	// run (0 if unknown): on one machine it competes with the nodes.
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`

	Nodes []NodeStats `json:"nodes,omitempty"` // only for a local testnet
}

// NodeStats is the resource use of one local node.
type NodeStats struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// CPUSeconds is user+system CPU time used during the load period.
	CPUSeconds float64 `json:"cpu_seconds"`
	// IdleRSSBytes is the resident set just before the load started.
	IdleRSSBytes int64 `json:"idle_rss_bytes"`
	// PeakRSSBytes is the peak resident set (VmHWM) at the end.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// DiskBytes is how much the allocated size of the node's data
	// directory grew during the run (preallocated files included).
	DiskBytes int64 `json:"disk_bytes"`
	// DiskWrittenBytes is how much its apparent size grew.
	DiskWrittenBytes int64 `json:"disk_written_bytes"`
	// DiskBytesPerTx and DiskWrittenPerTx are per committed tx (0 without
	// commits).
	DiskBytesPerTx   float64 `json:"disk_bytes_per_tx"`
	DiskWrittenPerTx float64 `json:"disk_written_per_tx"`
}

// WriteJSON writes s as indented JSON.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// Format writes s as a human-readable report.
func (s Summary) Format(w io.Writer) error {
	rate := "flat out"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%.0f tx/s", s.Rate)
	}
	var b strings.Builder
	if s.NoLoad {
		fmt.Fprintf(&b, "load:        none for %s (heights only)\n", s.Duration.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "load:        %s of %d-byte txs, %s, broadcast_tx_%s\n", s.Duration.Round(time.Millisecond), s.TxSize, rate, s.Mode)
	}
	fmt.Fprintf(&b, "txs:         %d submitted, %d committed, %d rejected, %d lost, %d duplicates\n",
		s.Submitted, s.Committed, s.Rejected, s.Lost, s.Duplicates)
	fmt.Fprintf(&b, "throughput:  %.1f tx/s median of 1 s windows, %.1f tx/s overall\n", s.TxPerSecMedian, s.TxPerSecOverall)
	fmt.Fprintf(&b, "latency:     p50 %s, p99 %s, max %s (submit to block seen)\n",
		fmtDur(s.LatencyP50), fmtDur(s.LatencyP99), fmtDur(s.LatencyMax))
	fmt.Fprintf(&b, "blocks:      %d during the load, %.1f txs each on average; %d heights, %.2f heights/s (last height %d)\n",
		s.Blocks, s.MeanBlockTxs, s.Heights, s.HeightsPerSec, s.LastHeight)
	if s.LateRounds > 0 {
		fmt.Fprintf(&b, "rounds:      %d of the blocks followed a height decided in round > 0\n", s.LateRounds)
	}
	if s.ClientCPUSeconds > 0 {
		fmt.Fprintf(&b, "client:      %.1f CPU seconds in the benchmark process\n", s.ClientCPUSeconds)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(s.Nodes) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\tpid\tcpu s\tidle RSS MiB\tpeak RSS MiB\tdisk MiB\tdisk B/tx\twritten B/tx\t")
	for _, n := range s.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t\n", n.Name, n.PID, n.CPUSeconds,
			mib(n.IdleRSSBytes), mib(n.PeakRSSBytes), mib(n.DiskBytes), n.DiskBytesPerTx, n.DiskWrittenPerTx)
	}
	return tw.Flush()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// fmtDur prints d with a precision that suits its size.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}
