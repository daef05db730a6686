package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCollectorSummary(t *testing.T) {
	gen, _ := NewTxGen("c", 64)
	other, _ := NewTxGen("d", 64)
	col := NewCollector(gen)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	col.AddBlock(Block{Height: 5, Received: at(-100)}) // before the load
	col.StartLoad(t0)
	txs := make([][]byte, 6)
	for i := range txs {
		seq, tx := gen.Next()
		txs[i] = tx
		col.Sent(seq, at(10*i))
	}
	col.Rejected(4)
	col.Cancelled(5) // cut short, yet committed below
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
	s := col.Summary()
	// Latencies 500, 490, 1480 and 2070 ms; tx 5 committed without one.
	// The load's windows [0,1s) and [1s,2s) hold 2 txs each.
	want := Summary{
		Duration: 2 * time.Second, TxSize: 64, Submitted: 6, Rejected: 1, Committed: 5, Duplicates: 1, Foreign: 1,
		Lost: 0, Blocks: 2, LateRounds: 1, MeanBlockTxs: 3, Heights: 2, HeightsPerSec: 1, LastHeight: 8,
		TxPerSecMedian: 2,
		LatencyP50:     500 * time.Millisecond, LatencyP99: 2070 * time.Millisecond, LatencyMax: 2070 * time.Millisecond,
	}
	if math.Abs(s.TxPerSecOverall-5/2.1) > 1e-9 { // committed / (last commit − load start)
		t.Errorf("overall %v tx/s, want %v", s.TxPerSecOverall, 5/2.1)
	}
	want.TxPerSecOverall = s.TxPerSecOverall
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary\n got %+v\nwant %+v", s, want)
	}
}

func TestSummaryFormat(t *testing.T) {
	s := Summary{
		Duration: 20 * time.Second, TxSize: 250, Rate: 1000, Mode: "async", Submitted: 20000, Committed: 19990,
		Rejected: 4, Lost: 6, TxPerSecMedian: 1000, TxPerSecOverall: 998.5,
		LatencyP50: 41234567 * time.Nanosecond, LatencyP99: 1234567890 * time.Nanosecond, LatencyMax: 800 * time.Microsecond,
		Blocks: 40, MeanBlockTxs: 499.75, Heights: 41, HeightsPerSec: 2.05, LastHeight: 60, ClientCPUSeconds: 3.25,
		Nodes: []NodeStats{{Name: "node0", PID: 42, CPUSeconds: 5.5, IdleRSSBytes: 46 << 20, PeakRSSBytes: 200 << 20,
			DiskBytes: 10 << 20, DiskBytesPerTx: 524.6, DiskWrittenPerTx: 400}},
	}
	var b bytes.Buffer
	if err := s.Format(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"load:        20s of 250-byte txs, 1000 tx/s, broadcast_tx_async\n",
		"txs:         20000 submitted, 19990 committed, 4 rejected, 6 lost, 0 duplicates\n",
		"throughput:  1000.0 tx/s median of 1 s windows, 998.5 tx/s overall\n",
		"latency:     p50 41.2ms, p99 1.235s, max 800µs (submit to block seen)\n",
		"blocks:      40 during the load, 499.8 txs each on average; 41 heights, 2.05 heights/s (last height 60)\n",
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
	if back["latency_p50_ns"].(float64) != 41234567 || back["tx_per_sec_median"].(float64) != 1000 || len(back["nodes"].([]any)) != 1 {
		t.Errorf("JSON %s", b.String())
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
