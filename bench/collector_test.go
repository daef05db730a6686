package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// collectorRun feeds a collector a small run: see the comments for what
// each block holds.
func collectorRun(t *testing.T) (s Summary, at func(ms int) time.Time) {
	gen, _ := NewTxGen("c", 64)
	other, _ := NewTxGen("d", 64)
	col := NewCollector(gen)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at = func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	col.AddBlock(Block{Height: 5, Received: at(-100)}) // before the load
	col.StartLoad(t0, 4)                               // the node said 4; block 5 came first
	txs := make([][]byte, 8)
	for i := range txs {
		seq, tx := gen.Next()
		txs[i] = tx
		col.Sent(seq, at(10*i))
	}
	col.Rejected(4)
	col.Cancelled(5) // cut short, yet committed below
	col.Failed(6)
	col.Refused(7)
	col.Refused(7) // settled once
	_, foreign := other.Next()
	// Height 6 at 500 ms: txs 0 and 1 (latencies 500 and 490 ms) and a foreign tx.
	if n := col.AddBlock(Block{Height: 6, Txs: [][]byte{txs[0], txs[1], foreign}, Received: at(500)}); n != 2 {
		t.Errorf("block 6: %d new txs of ours, want 2", n)
	}
	// Height 7 at 1500 ms: tx 2 (1480 ms), tx 0 again, and tx 5 (no latency).
	col.AddBlock(Block{Height: 7, Txs: [][]byte{txs[2], txs[0], txs[5]}, Received: at(1500), LastCommitRound: 1})
	if p := col.Pending(); p != 1 { // tx 3
		t.Errorf("pending %d, want 1", p)
	}
	col.EndLoad(at(2000))
	col.AddBlock(Block{Height: 8, Txs: [][]byte{txs[3]}, Received: at(2100)}) // drained after the load
	return col.Summary(), at
}

func TestCollectorSummary(t *testing.T) {
	s, at := collectorRun(t)
	// Latencies 490, 500, 1480 and 2070 ms; tx 5 committed without one.
	// The load's windows [0,1s) and [1s,2s) hold 2 txs each.
	want := Summary{
		Start: at(0), Duration: 2 * time.Second, TxSize: 64, Submitted: 8, Rejected: 1, Refused: 1, Errors: 1, Committed: 5, Duplicates: 1, Foreign: 1,
		Lost: 0, Blocks: 2, LateRounds: 1, MeanBlockTxs: 3, Heights: 2, BlocksPerSec: 1, LastHeight: 8,
		CommittedTxPerSecWindowMedian: 2,
		LatencyP50:                    500 * time.Millisecond, LatencyP95: 2070 * time.Millisecond,
		LatencyP99: 2070 * time.Millisecond, LatencyMax: 2070 * time.Millisecond,
		PerBlock: []BlockStat{
			{Height: 5, Received: at(-100)},
			{Height: 6, Received: at(500), Txs: 3, BenchTxs: 2, Interval: 600 * time.Millisecond,
				LatencyMean: 495 * time.Millisecond, LatencyMax: 500 * time.Millisecond},
			{Height: 7, Received: at(1500), Txs: 3, BenchTxs: 2, Interval: time.Second,
				LatencyMean: 1480 * time.Millisecond, LatencyMax: 1480 * time.Millisecond, LastCommitRound: 1},
			{Height: 8, Received: at(2100), Txs: 1, BenchTxs: 1, Interval: 600 * time.Millisecond,
				LatencyMean: 2070 * time.Millisecond, LatencyMax: 2070 * time.Millisecond},
		},
	}
	if math.Abs(s.CommittedTxPerSec-5/2.1) > 1e-9 { // committed / (last commit − load start)
		t.Errorf("committed %v tx/s, want %v", s.CommittedTxPerSec, 5/2.1)
	}
	want.CommittedTxPerSec = s.CommittedTxPerSec
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary\n got %+v\nwant %+v", s, want)
	}
}

func TestWriteBlocksCSV(t *testing.T) {
	s, _ := collectorRun(t)
	var b bytes.Buffer
	if err := s.WriteBlocksCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := `height,time,since_start_ms,txs,bench_txs,interval_ms,latency_mean_ms,latency_max_ms,last_commit_round
5,2025-12-31T23:59:59.9Z,-100.000,0,0,,,,0
6,2026-01-01T00:00:00.5Z,500.000,3,2,600.000,495.000,500.000,0
7,2026-01-01T00:00:01.5Z,1500.000,3,2,1000.000,1480.000,1480.000,1
8,2026-01-01T00:00:02.1Z,2100.000,1,1,600.000,2070.000,2070.000,0
`
	if b.String() != want {
		t.Errorf("CSV\n%s\nwant\n%s", b.String(), want)
	}
	errFull := errors.New("disk full")
	if err := s.WriteBlocksCSV(failingWriter{errFull}); !errors.Is(err, errFull) {
		t.Errorf("WriteBlocksCSV to a failing writer: %v, want %v", err, errFull)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestSummaryFormat(t *testing.T) {
	s := Summary{
		Duration: 20 * time.Second, TxSize: 250, Rate: 1000, Mode: "async", Submitted: 20000, Committed: 19990,
		Rejected: 4, Refused: 7, Errors: 3, Lost: 6, CommittedTxPerSecWindowMedian: 1000, CommittedTxPerSec: 998.5,
		LatencyP50: 41234567 * time.Nanosecond, LatencyP95: 900 * time.Millisecond, LatencyP99: 1234567890 * time.Nanosecond, LatencyMax: 800 * time.Microsecond,
		Blocks: 40, MeanBlockTxs: 499.75, Heights: 41, BlocksPerSec: 2.05, PerBlock: []BlockStat{{Height: 3}}, LastHeight: 60, ClientCPUSeconds: 3.25,
		Nodes: []NodeStats{{Name: "node0", PID: 42, CPUSeconds: 5.5, IdleRSSBytes: 46 << 20, PeakRSSBytes: 200 << 20,
			DiskBytes: 10 << 20, DiskBytesPerTx: 524.6, DiskWrittenPerTx: 400}},
	}
	var b bytes.Buffer
	if err := s.Format(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"load:        20s of 250-byte txs, 1000 tx/s, broadcast_tx_async\n",
		"txs:         20000 submitted, 19990 committed, 4 rejected, 7 refused (mempool full), 3 errors, 6 lost, 0 duplicates\n",
		"throughput:  998.5 committed tx/s (median of 1 s windows 1000.0 tx/s), 2.05 blocks/s\n",
		"latency:     p50 41.2ms, p95 900ms, p99 1.235s, max 800µs (submit to block seen)\n",
		"blocks:      40 during the load, 499.8 txs each on average; 41 heights (last height 60)\n",
		"client:      3.2 CPU seconds",
		"idle RSS MiB",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	row := strings.Fields(lines[len(lines)-1])
	if want := []string{"node0", "42", "5.5", "46.0", "200.0", "10.0", "525", "400"}; strings.Join(row, " ") != strings.Join(want, " ") {
		t.Errorf("node row %q, want %q", row, want)
	}
	if strings.Contains(b.String(), "rounds:") {
		t.Errorf("rounds line printed without late rounds")
	}
	b.Reset()
	if err := (Summary{}).Format(&b); err != nil || !strings.Contains(b.String(), "flat out") || strings.Contains(b.String(), "node") {
		t.Errorf("empty summary: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := (Summary{NoLoad: true, Duration: time.Second}).Format(&b); err != nil || !strings.HasPrefix(b.String(), "load:        none for 1s") {
		t.Errorf("no-load summary: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := s.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{
		"committed_tx_per_s": 998.5, "committed_tx_per_s_window_median": 1000, "blocks_per_s": 2.05,
		"p50_ms": 41.234567, "p95_ms": 900, "p99_ms": 1234.56789, "max_ms": 0.8,
		"submitted": 20000, "committed": 19990, "rejected": 4, "refused": 7, "errors": 3, "lost": 6, "duration_s": 20,
	} {
		if got, ok := back[k].(float64); !ok || math.Abs(got-v) > 1e-9 {
			t.Errorf("JSON %q = %v, want %v", k, back[k], v)
		}
	}
	nodes, _ := back["nodes"].([]any)
	if len(nodes) != 1 || nodes[0].(map[string]any)["disk_bytes_per_tx"] != 524.6 {
		t.Errorf("JSON nodes %v", back["nodes"])
	}
	for _, k := range []string{"PerBlock", "per_block", "latency_p50_ns", "tx_per_sec_median"} {
		if _, ok := back[k]; ok {
			t.Errorf("JSON has %q:\n%s", k, b.String())
		}
	}
}

func TestCollectorWaitRoom(t *testing.T) {
	gen, _ := NewTxGen("w", 64)
	col := NewCollector(gen)
	var txs [][]byte
	for range 3 {
		seq, tx := gen.Next()
		txs = append(txs, tx)
		col.Sent(seq, time.Now())
	}
	if !col.WaitRoom(context.Background(), 4) {
		t.Fatal("3 pending txs, limit 4: no room")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if col.WaitRoom(cancelled, 3) {
		t.Fatal("3 pending txs, limit 3: room")
	}
	// Waiters wake when a tx commits, is rejected or is cancelled.
	for i, settle := range []func(){
		func() { col.AddBlock(Block{Height: 1, Txs: txs[:1], Received: time.Now()}) },
		func() { col.Rejected(1) },
		func() { col.Cancelled(2) },
	} {
		got := make(chan bool, 2)
		for range 2 {
			go func() { got <- col.WaitRoom(context.Background(), int64(3-i)) }()
		}
		settle()
		for range 2 {
			if !<-got {
				t.Fatalf("step %d: WaitRoom = false", i)
			}
		}
	}
}

// Heights count from the node's latest height at the start of the load,
// also when no block arrived before it.
func TestCollectorHeightsFromStartHeight(t *testing.T) {
	gen, _ := NewTxGen("h", 64)
	col := NewCollector(gen)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	col.StartLoad(t0, 100)
	col.AddBlock(Block{Height: 101, Received: t0.Add(time.Second)})
	col.AddBlock(Block{Height: 102, Received: t0.Add(2 * time.Second)})
	col.EndLoad(t0.Add(4 * time.Second))
	if s := col.Summary(); s.Heights != 2 || s.BlocksPerSec != 0.5 || s.LastHeight != 102 {
		t.Errorf("heights %d, %v blocks/s, last height %d; want 2, 0.5, 102", s.Heights, s.BlocksPerSec, s.LastHeight)
	}
	empty := NewCollector(gen)
	empty.StartLoad(t0, 7)
	empty.EndLoad(t0.Add(time.Second))
	if s := empty.Summary(); s.Heights != 0 || s.LastHeight != 7 {
		t.Errorf("no blocks: heights %d, last height %d; want 0, 7", s.Heights, s.LastHeight)
	}
}

// A tx refused for overload keeps its place in WaitRoom's count until the
// next block, so a flat-out load backs off instead of resubmitting at once.
func TestRefusedBacksOffUntilNextBlock(t *testing.T) {
	gen, err := NewTxGen("t", 64)
	if err != nil {
		t.Fatal(err)
	}
	col := NewCollector(gen)
	done, cancel := context.WithCancel(context.Background())
	cancel() // WaitRoom answers at once: true with room, false without
	for range 2 {
		seq, _ := gen.Next()
		col.Sent(seq, time.Now())
		col.Refused(seq)
	}
	if col.Pending() != 0 {
		t.Fatalf("refused txs still pending: %d", col.Pending())
	}
	if col.WaitRoom(done, 2) {
		t.Fatal("room for a third tx right after two refusals")
	}
	if !col.WaitRoom(done, 3) {
		t.Fatal("no room under a limit of 3 with two refusals")
	}
	col.AddBlock(Block{Height: 2, Received: time.Now()})
	if !col.WaitRoom(done, 1) {
		t.Fatal("refusals still hold room after the next block")
	}
	if s := col.Summary(); s.Refused != 2 || s.Errors != 0 || s.Lost != 0 {
		t.Fatalf("summary %+v, want 2 refused", s)
	}
}
