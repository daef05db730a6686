package node

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHeights runs four validators in-process over loopback libp2p
// with no commit delay and empty blocks on, and measures how fast they
// commit empty heights (heights/s), and where a height's time goes: the
// medians, over every node and measured height, of the phases the engine
// logs at debug level ("height timing"). b.N is the number of heights
// measured after a warm-up; use e.g. -benchtime=300x.
func BenchmarkHeights(b *testing.B) {
	cfgs := testnet(b, 4, 0)
	for i := range cfgs {
		c := &cfgs[i].Consensus
		c.TimeoutCommit, c.SkipTimeoutCommit, c.CreateEmptyBlocks = 0, true, true
		c.TimeoutPropose = 500 * time.Millisecond
	}
	rec := &timingRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		n, err := New(ctx, cfg, slog.New(&timingHandler{rec: rec, node: i}))
		if err != nil {
			cancel()
			b.Fatal(err)
		}
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
}

// timingRecorder collects the engine's "height timing" records of all nodes.
type timingRecorder struct {
	height atomic.Int64 // highest height node 0 committed
	mu     sync.Mutex
	phases map[string][]float64
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
		if k == "total_ms" || k == "commit_delay_ms" {
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
