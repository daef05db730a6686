package node

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHeights runs four validators in-process over loopback libp2p
// with no commit delay and empty blocks on, and measures how fast they
// commit heights (heights/s), and where a height's time goes: the medians,
// over every node and measured height, of the phases the engine logs at
// debug level ("height timing"). b.N is the number of heights measured
// after a warm-up; use e.g. -benchtime=300x. "empty" commits empty blocks;
// "txs1000" submits 1,000 250-byte kvstore txs/s, spread over the nodes'
// mempools, and also reports the median latency from a tx's admission to
// node 0's commit of it (approximate: txs are taken as committed in
// admission order).
func BenchmarkHeights(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchHeights(b, 0) })
	b.Run("txs1000", func(b *testing.B) { benchHeights(b, 1000) })
}

func benchHeights(b *testing.B, txRate int) {
	cfgs := testnet(b, 4, 0)
	for i := range cfgs {
		c := &cfgs[i].Consensus
		c.TimeoutCommit, c.SkipTimeoutCommit, c.CreateEmptyBlocks = 0, true, true
		c.TimeoutPropose = 500 * time.Millisecond
	}
	rec := &timingRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	nodes := make([]*Node, len(cfgs))
	for i, cfg := range cfgs {
		n, err := New(ctx, cfg, slog.New(&timingHandler{rec: rec, node: i}))
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		nodes[i] = n
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Run(ctx); err != nil {
				b.Errorf("%s: %v", cfg.Moniker, err)
			}
		}()
	}
	b.Cleanup(func() { cancel(); wg.Wait() })

	const warmup = 5
	rec.waitHeight(b, warmup, time.Minute)
	if txRate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			submitTxs(ctx, nodes, txRate, rec)
		}()
	}
	from := rec.height.Load()
	rec.reset()
	b.ResetTimer()
	rec.waitHeight(b, from+int64(b.N), time.Duration(b.N)*time.Second+time.Minute)
	b.StopTimer()
	heights := rec.height.Load() - from
	b.ReportMetric(float64(heights)/b.Elapsed().Seconds(), "heights/s")
	b.ReportMetric(0, "ns/op")
	for _, m := range rec.medians() {
		b.ReportMetric(m.v, m.name)
	}
	b.Logf("90th percentiles: %s", rec.p90s())
}

// submitTxs admits rate txs/s, round-robin over the nodes, as the RPC's
// broadcast_tx does (mempool, then gossip), in bursts every 10 ms, noting
// each admission for the latency measure.
func submitTxs(ctx context.Context, nodes []*Node, rate int, rec *timingRecorder) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	seq := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for range rate / 100 {
			tx := fmt.Appendf(nil, "bench%012d=", seq)
			for len(tx) < 250 {
				tx = append(tx, 'v')
			}
			be := backend{n: nodes[seq%len(nodes)]}
			seq++
			if res, err := be.BroadcastTx(ctx, tx); err == nil && res.Code == 0 {
				rec.admitted(time.Now())
			}
		}
	}
}

// timingRecorder collects the engine's "height timing" records of all nodes.
type timingRecorder struct {
	height atomic.Int64 // highest height node 0 committed
	mu     sync.Mutex
	phases map[string][]float64
	// admitted txs not yet seen committed, oldest first
	pending []time.Time
}

func (r *timingRecorder) admitted(at time.Time) {
	r.mu.Lock()
	r.pending = append(r.pending, at)
	r.mu.Unlock()
}

// committed takes the n oldest admitted txs as committed now.
func (r *timingRecorder) committed(n int) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	n = min(n, len(r.pending))
	if r.phases == nil {
		r.phases = map[string][]float64{}
	}
	for _, at := range r.pending[:n] {
		r.phases["tx_latency_ms"] = append(r.phases["tx_latency_ms"], float64(now.Sub(at).Microseconds())/1000)
	}
	r.pending = r.pending[n:]
}

type median struct {
	name string
	v    float64
}

func (r *timingRecorder) reset() {
	r.mu.Lock()
	r.phases = nil
	r.mu.Unlock()
}

func (r *timingRecorder) add(rec slog.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phases == nil {
		r.phases = map[string][]float64{}
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindFloat64 && a.Value.Float64() >= 0 {
			r.phases[a.Key] = append(r.phases[a.Key], a.Value.Float64())
		}
		return true
	})
}

// medians are the median of each phase, named "<phase>/p50" for
// ReportMetric, in a stable order, with the mean and 90th percentile of
// the whole height and of the gap before it.
func (r *timingRecorder) medians() []median {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]median, 0, len(r.phases))
	for k, vs := range r.phases {
		vs = slices.Clone(vs)
		sort.Float64s(vs)
		out = append(out, median{k + "/p50", vs[len(vs)/2]})
		if k == "total_ms" || k == "commit_delay_ms" || k == "tx_latency_ms" {
			sum := 0.0
			for _, v := range vs {
				sum += v
			}
			out = append(out, median{k + "/mean", sum / float64(len(vs))}, median{k + "/p90", vs[len(vs)*9/10]})
		}
	}
	slices.SortFunc(out, func(a, b median) int {
		if a.name < b.name {
			return -1
		}
		return 1
	})
	return out
}

// p90s lists the 90th percentile of each phase, for the tail.
func (r *timingRecorder) p90s() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := slices.Sorted(maps.Keys(r.phases))
	out := ""
	for _, k := range keys {
		vs := slices.Clone(r.phases[k])
		sort.Float64s(vs)
		out += fmt.Sprintf("%s=%.2f ", k, vs[len(vs)*9/10])
	}
	return out
}

func (r *timingRecorder) waitHeight(b *testing.B, h int64, deadline time.Duration) {
	b.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	end := time.After(deadline)
	for r.height.Load() < h {
		select {
		case <-tick.C:
		case <-end:
			b.Fatalf("height %d not reached in %v (at %d)", h, deadline, r.height.Load())
		}
	}
}

// timingHandler passes the engine's "height timing" records to a
// recorder and drops every other log record.
type timingHandler struct {
	rec  *timingRecorder
	node int
}

func (h *timingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }
func (h *timingHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *timingHandler) WithGroup(string) slog.Handler                { return h }

func (h *timingHandler) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message == "committed" && h.node == 0 {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "txs" {
				h.rec.committed(int(a.Value.Int64()))
				return false
			}
			return true
		})
	}
	if rec.Message != "height timing" {
		return nil
	}
	h.rec.add(rec)
	if h.node == 0 {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "height" {
				h.rec.height.Store(a.Value.Int64())
				return false
			}
			return true
		})
	}
	return nil
}
