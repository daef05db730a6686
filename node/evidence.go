package node

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// evidenceChain is the evidence pool's view of the chain: the block
// store's state and history, with the genesis evidence parameters.
type evidenceChain struct {
	store   *blockstore.Store
	genesis *config.GenesisDoc
}

var _ evidence.Chain = evidenceChain{}

// State is the state after the last stored block, with the evidence
// parameters in force for the next; before the first one, the genesis
// height, time and parameters.
func (c evidenceChain) State() evidence.State {
	p := genesisParams(c.genesis)
	st := evidence.State{
		ChainID: c.genesis.ChainID,
		Height:  c.genesis.InitialHeight - 1,
		Time:    c.genesis.GenesisTime,
	}
	if s, err := c.store.LoadState(); err == nil {
		st.Height, st.Time, p = s.LastBlockHeight, s.LastBlockTime, s.ConsensusParams
	}
	st.Params = evidence.Params{MaxAgeNumBlocks: p.EvidenceMaxAgeNumBlocks, MaxAgeDuration: p.EvidenceMaxAgeDuration, MaxBytes: p.EvidenceMaxBytes}
	return st
}

func (c evidenceChain) ValidatorsAt(height int64) (*types.ValidatorSet, error) {
	return c.store.LoadValidators(height)
}

func (c evidenceChain) HeaderAt(height int64) (*types.Header, error) {
	m, err := c.store.LoadBlockMeta(height)
	if err != nil {
		return nil, err
	}
	return &m.Header, nil
}

func (c evidenceChain) CommitAt(height int64) (*types.Commit, error) {
	return c.store.LoadBlockCommit(height)
}

// evidenceGossip is the pool as the source and sink of evidence gossip:
// evidence a peer sends that the pool finds invalid blames the peer.
type evidenceGossip struct{ pool *evidence.Pool }

var _ p2p.EvidenceSource = evidenceGossip{}

func (g evidenceGossip) PendingAfter(after uint64, limit int) p2p.EvidenceBatch {
	b := g.pool.PendingAfter(after, limit)
	return p2p.EvidenceBatch{Evidence: b.Evidence, Next: b.Next, Wait: b.Wait}
}

func (g evidenceGossip) AddFromPeer(ev types.Evidence, from string) error {
	err := g.pool.Add(ev)
	if evidence.Invalid(err) {
		return fmt.Errorf("%w from %s: %w", p2p.ErrInvalidEvidence, from, err)
	}
	return err
}

// evidenceCollector exports the pool's counters, read at each scrape.
type evidenceCollector struct {
	pool                                       *evidence.Pool
	pending, pendingBytes, committed, rejected *prometheus.Desc
}

func newEvidenceCollector(pool *evidence.Pool) *evidenceCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("bftnode_evidence_"+name, help, labels, nil)
	}
	return &evidenceCollector{
		pool:         pool,
		pending:      d("pending", "Evidence in the pool waiting for a block."),
		pendingBytes: d("pending_bytes", "Encoded size of the pending evidence."),
		committed:    d("committed_total", "Evidence marked committed in a block (since start)."),
		rejected: d("rejected_total", "Evidence refused, from broadcast_evidence, gossip or a proposed block, by reason "+
			"(bad_signature, unknown_validator, invalid, future_height, no_state, wrong_time, expired, committed, duplicate, too_large) (since start).", "reason"),
	}
}

func (c *evidenceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.pendingBytes, c.committed, c.rejected} {
		ch <- d
	}
}

func (c *evidenceCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.pool.Metrics()
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(m.Pending))
	ch <- prometheus.MustNewConstMetric(c.pendingBytes, prometheus.GaugeValue, float64(m.PendingBytes))
	ch <- prometheus.MustNewConstMetric(c.committed, prometheus.CounterValue, float64(m.Committed))
	for reason, n := range m.Rejected {
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(n), reason)
	}
}
