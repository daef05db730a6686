package mempool

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the "reason" label of Metrics.Rejected.
const (
	reasonTooLarge = "too_large"
	reasonFull     = "full"
	reasonApp      = "app"
)

// Metrics are the mempool's prometheus collectors.
type Metrics struct {
	// Size is the number of txs in the pool.
	Size prometheus.Gauge
	// SizeBytes is the total size of the txs in the pool.
	SizeBytes prometheus.Gauge
	// Rejected counts txs refused by CheckTx, by reason: "too_large",
	// "full" or "app" (the application's CheckTx).
	Rejected *prometheus.CounterVec
	// EvictedByRecheck counts txs removed because the application rejected
	// them when rechecked after a block.
	EvictedByRecheck prometheus.Counter
	// AlreadyCommitted counts txs refused because they are in a block.
	AlreadyCommitted prometheus.Counter
}

// NewMetrics returns the mempool's metrics, registered on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := NopMetrics()
	for _, c := range []prometheus.Collector{m.Size, m.SizeBytes, m.Rejected, m.EvictedByRecheck, m.AlreadyCommitted} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("mempool: registering metrics: %w", err)
		}
	}
	return m, nil
}

// NopMetrics returns metrics that are registered nowhere, for tests and for
// nodes that do not export metrics.
func NopMetrics() *Metrics {
	const ns, sub = "bftnode", "mempool"
	return &Metrics{
		Size: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "size",
			Help: "Number of txs in the mempool.",
		}),
		SizeBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "size_bytes",
			Help: "Total size of the txs in the mempool, in bytes.",
		}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rejected_txs_total",
			Help: "Txs refused by CheckTx, by reason (too_large, full, app).",
		}, []string{"reason"}),
		EvictedByRecheck: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "evicted_by_recheck_total",
			Help: "Txs evicted because the application rejected them on recheck.",
		}),
		AlreadyCommitted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "already_committed_txs_total",
			Help: "Txs refused by CheckTx because they are already in a block.",
		}),
	}
}
