package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is the result of a benchmark run. Its JSON (MarshalJSON) gives
// durations in seconds or, for latencies, milliseconds.
type Summary struct {
	Start      time.Time     // the start of the load period
	Duration   time.Duration // the load period
	TxSize     int
	Rate       float64 // target tx/s; 0 for flat out
	Mode       string  // async or sync
	NoLoad     bool    // nothing was submitted on purpose
	Submitted  int64
	Committed  int64
	Rejected   int64 // refused by CheckTx (known only with sync)
	Refused    int64 // refused for overload: "mempool is full" (CometBFT, bftnode) errors
	Errors     int64 // submissions that failed otherwise: RPC or connection errors
	Lost       int64 // submitted, neither rejected nor refused nor failed nor committed by the end
	Duplicates int64 // txs committed more than once
	Foreign    int64 // txs seen that were not this run's

	CommittedTxPerSec             float64 // committed / (last commit − load start)
	CommittedTxPerSecWindowMedian float64 // median of the 1-second windows of the load period

	// Latencies from submission to the block being seen, over the
	// committed txs of this run.
	LatencyP50, LatencyP95, LatencyP99, LatencyMax time.Duration

	Blocks       int     // blocks received during the load period
	MeanBlockTxs float64 // their mean number of txs
	LateRounds   int     // of them, how many followed a height decided in round > 0
	Heights      int64   // heights advanced during the load period
	BlocksPerSec float64 // Heights / Duration
	LastHeight   int64

	// ClientCPUSeconds is the CPU time the benchmark itself used during the
	// run (0 if unknown): on one machine it competes with the nodes.
	ClientCPUSeconds float64

	Nodes []NodeStats // only for a local testnet

	// PerBlock has every block seen during the run, in the order seen
	// (WriteBlocksCSV); not in the JSON.
	PerBlock []BlockStat
}

// BlockStat is one committed block as the run saw it.
type BlockStat struct {
	Height   int64
	Received time.Time // when the client learnt of it
	Txs      int       // all its txs
	BenchTxs int       // of them, txs of this run newly committed
	// Interval is the time since the previous block was seen (0 for the
	// first; blocks the stream skipped and the runner fetched share the
	// time of the block after them).
	Interval time.Duration
	// LatencyMean and LatencyMax are over the BenchTxs with a known
	// submission time (0 for none).
	LatencyMean, LatencyMax time.Duration
	LastCommitRound         int32 // the round the previous height was decided in
}

// summaryJSON is the JSON form of a Summary: the keys are part of the
// command's interface (scripts read them), so change them with care.
type summaryJSON struct {
	Start                       time.Time   `json:"start"`
	DurationS                   float64     `json:"duration_s"`
	TxSize                      int         `json:"tx_size"`
	TargetTxPerS                float64     `json:"target_tx_per_s"`
	Mode                        string      `json:"mode"`
	NoLoad                      bool        `json:"no_load"`
	Submitted                   int64       `json:"submitted"`
	Committed                   int64       `json:"committed"`
	Rejected                    int64       `json:"rejected"`
	Refused                     int64       `json:"refused"`
	Errors                      int64       `json:"errors"`
	Lost                        int64       `json:"lost"`
	Duplicates                  int64       `json:"duplicates"`
	Foreign                     int64       `json:"foreign"`
	CommittedTxPerS             float64     `json:"committed_tx_per_s"`
	CommittedTxPerSWindowMedian float64     `json:"committed_tx_per_s_window_median"`
	BlocksPerS                  float64     `json:"blocks_per_s"`
	P50Ms                       float64     `json:"p50_ms"`
	P95Ms                       float64     `json:"p95_ms"`
	P99Ms                       float64     `json:"p99_ms"`
	MaxMs                       float64     `json:"max_ms"`
	Blocks                      int         `json:"blocks"`
	MeanBlockTxs                float64     `json:"mean_block_txs"`
	LateRounds                  int         `json:"late_rounds"`
	Heights                     int64       `json:"heights"`
	LastHeight                  int64       `json:"last_height"`
	ClientCPUSeconds            float64     `json:"client_cpu_seconds"`
	Nodes                       []NodeStats `json:"nodes,omitempty"`
}

// MarshalJSON writes the summary as one object with keys such as
// committed_tx_per_s, blocks_per_s, p50_ms, p95_ms, p99_ms, refused and
// errors.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{
		Start: s.Start, DurationS: s.Duration.Seconds(), TxSize: s.TxSize, TargetTxPerS: s.Rate, Mode: s.Mode, NoLoad: s.NoLoad,
		Submitted: s.Submitted, Committed: s.Committed, Rejected: s.Rejected, Refused: s.Refused, Errors: s.Errors, Lost: s.Lost,
		Duplicates: s.Duplicates, Foreign: s.Foreign,
		CommittedTxPerS: s.CommittedTxPerSec, CommittedTxPerSWindowMedian: s.CommittedTxPerSecWindowMedian, BlocksPerS: s.BlocksPerSec,
		P50Ms: ms(s.LatencyP50), P95Ms: ms(s.LatencyP95), P99Ms: ms(s.LatencyP99), MaxMs: ms(s.LatencyMax),
		Blocks: s.Blocks, MeanBlockTxs: s.MeanBlockTxs, LateRounds: s.LateRounds, Heights: s.Heights, LastHeight: s.LastHeight,
		ClientCPUSeconds: s.ClientCPUSeconds, Nodes: s.Nodes,
	})
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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
	fmt.Fprintf(&b, "txs:         %d submitted, %d committed, %d rejected, %d refused (mempool full), %d errors, %d lost, %d duplicates\n",
		s.Submitted, s.Committed, s.Rejected, s.Refused, s.Errors, s.Lost, s.Duplicates)
	fmt.Fprintf(&b, "throughput:  %.1f committed tx/s (median of 1 s windows %.1f tx/s), %.2f blocks/s\n",
		s.CommittedTxPerSec, s.CommittedTxPerSecWindowMedian, s.BlocksPerSec)
	fmt.Fprintf(&b, "latency:     p50 %s, p95 %s, p99 %s, max %s (submit to block seen)\n",
		fmtDur(s.LatencyP50), fmtDur(s.LatencyP95), fmtDur(s.LatencyP99), fmtDur(s.LatencyMax))
	fmt.Fprintf(&b, "blocks:      %d during the load, %.1f txs each on average; %d heights (last height %d)\n",
		s.Blocks, s.MeanBlockTxs, s.Heights, s.LastHeight)
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
