package node

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// metrics are the node's own Prometheus series (the mempool registers its
// own on the same registry).
type metrics struct {
	height        prometheus.Gauge
	round         prometheus.Gauge
	blockInterval prometheus.Histogram
	txs           prometheus.Counter
	evidence      prometheus.Counter
	peers         prometheus.Gauge
	dupVotes      prometheus.Gauge
	dupParts      prometheus.Gauge
	bytesSent     prometheus.Gauge
	bytesReceived prometheus.Gauge
	syncStarts    prometheus.Gauge

	lastBlock time.Time
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "bftnode", Name: name, Help: help})
	}
	m := &metrics{
		height: g("consensus_height", "Height being decided."),
		round:  g("consensus_round", "Round of the height being decided."),
		blockInterval: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "bftnode", Name: "consensus_block_interval_seconds",
			Help: "Time between consecutive blocks' header times.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		txs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "bftnode", Name: "consensus_txs_total", Help: "Txs in committed blocks."}),
		evidence: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "bftnode", Name: "consensus_evidence_total",
			Help: "Equivocations recorded: a validator signed two different votes of one type for one height and round (since start)."}),
		peers:         g("p2p_peers", "Connected peers."),
		dupVotes:      g("p2p_duplicate_votes", "Votes received that this node already had (since start)."),
		dupParts:      g("p2p_duplicate_block_parts", "Block parts received that this node already had (since start)."),
		bytesSent:     g("p2p_sent_bytes", "Bytes sent to peers (since start)."),
		bytesReceived: g("p2p_received_bytes", "Bytes received from peers (since start)."),
		syncStarts:    g("p2p_block_sync_starts", "Times block sync started because peers were p2p sync lag or more blocks ahead (since start)."),
	}
	for _, c := range []prometheus.Collector{m.height, m.round, m.blockInterval, m.txs, m.evidence, m.peers, m.dupVotes, m.dupParts, m.bytesSent, m.bytesReceived, m.syncStarts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observeRound(rs consensus.RoundState) {
	m.height.Set(float64(rs.Height))
	m.round.Set(float64(rs.Round))
}

func (m *metrics) observeEvidence(types.DuplicateVoteEvidence) { m.evidence.Inc() }

func (m *metrics) observeBlock(b *types.Block) {
	if !m.lastBlock.IsZero() {
		m.blockInterval.Observe(b.Header.Time.Sub(m.lastBlock).Seconds())
	}
	m.lastBlock = b.Header.Time
	m.txs.Add(float64(len(b.Data.Txs)))
}

func (m *metrics) observeP2P(s p2p.Stats) {
	m.peers.Set(float64(s.Peers))
	m.dupVotes.Set(float64(s.DuplicateVotes))
	m.dupParts.Set(float64(s.DuplicateParts))
	m.bytesSent.Set(float64(s.BytesSent))
	m.bytesReceived.Set(float64(s.BytesReceived))
	m.syncStarts.Set(float64(s.SyncStarts))
}

// sampleMetrics copies the transport's counters into the registry.
func (n *Node) sampleMetrics(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			n.metrics.observeP2P(n.transport.Stats())
		}
	}
}
