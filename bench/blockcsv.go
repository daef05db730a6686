package bench

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// WriteBlocksCSV writes one row per block seen during the run (PerBlock),
// after a header row: its height, when it was seen (RFC 3339, UTC, and ms
// since the load started), its txs, how many of them were this run's
// newly committed txs, the ms since the previous block was seen, the mean
// and max latency of this run's txs in it (empty without any) and the
// round its previous height was decided in.
func (s Summary) WriteBlocksCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"height", "time", "since_start_ms", "txs", "bench_txs", "interval_ms",
		"latency_mean_ms", "latency_max_ms", "last_commit_round"}
	if err := cw.Write(header); err != nil {
		return err
	}
	for i, b := range s.PerBlock {
		interval := ""
		if i > 0 {
			interval = fmtMs(b.Interval)
		}
		mean, most := "", ""
		if b.LatencyMax > 0 {
			mean, most = fmtMs(b.LatencyMean), fmtMs(b.LatencyMax)
		}
		since := ""
		if !s.Start.IsZero() {
			since = fmtMs(b.Received.Sub(s.Start))
		}
		row := []string{strconv.FormatInt(b.Height, 10), b.Received.UTC().Format(time.RFC3339Nano), since,
			strconv.Itoa(b.Txs), strconv.Itoa(b.BenchTxs), interval, mean, most, strconv.Itoa(int(b.LastCommitRound))}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// fmtMs prints d in milliseconds with microsecond precision.
func fmtMs(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) }
