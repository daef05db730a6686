package bench

import (
	"context"
	"slices"
	"sync"
	"time"
)

// txState is what the collector knows of one generated tx.
type txState uint8

const (
	txUnsent txState = iota
	txSent
	txRejected // refused by CheckTx
	txFailed   // the submission failed (an RPC or connection error)
	txRefused  // the node refused it for overload (mempool full)
	txCommitted
)

// Block is a committed block as the benchmark sees it.
type Block struct {
	Height   int64
	Txs      [][]byte
	Received time.Time // when the client learnt of it
	// LastCommitRound is the round in which the previous height was
	// decided (its last_commit.round).
	LastCommitRound int32
}

// Collector matches committed blocks against submitted txs. It is safe for
// concurrent use.
type Collector struct {
	gen *TxGen

	mu       sync.Mutex
	room     chan struct{} // closed when pending txs drop, for WaitRoom
	sentAt   []time.Time   // by sequence number
	state    []txState
	sent     int64
	rejected int64
	failed   int64 // submissions that failed (errors)
	refused  int64 // refused for overload
	// backoff counts the txs refused for overload since the last block:
	// each keeps its place in WaitRoom's count until a block comes, as a
	// client that retries after the next block would.
	backoff    int64
	committed  int64
	duplicates int64 // txs of ours committed again
	foreign    int64 // txs in blocks that are not ours
	latencies  []time.Duration
	lastCommit time.Time // the last block with a tx of ours
	perBlock   []BlockStat

	loadStart, loadEnd time.Time
	windows            *Windows
	blocks             int   // blocks received within the load period
	blockTxs           int64 // their txs, ours or not
	lateRounds         int   // of them, how many say the previous height needed round > 0
	firstHeight        int64 // first and last height seen
	lastHeight         int64
	loadStartHeight    int64 // last height seen before the load started
	loadEndHeight      int64 // last height seen when the load ended
}

// NewCollector returns a collector for the txs of gen.
func NewCollector(gen *TxGen) *Collector { return &Collector{gen: gen} }

// StartLoad marks the start of the load period at t, when the latest
// height known (from the node, if no block has been seen yet) is height.
func (c *Collector) StartLoad(t time.Time, height int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadStart = t
	c.windows = NewWindows(t, time.Second)
	c.lastHeight = max(c.lastHeight, height)
	c.loadStartHeight = c.lastHeight
}

// EndLoad marks the end of the load period at t.
func (c *Collector) EndLoad(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loadEnd = t
	c.loadEndHeight = c.lastHeight
}

func (c *Collector) growLocked(seq uint64) {
	for uint64(len(c.state)) <= seq {
		c.state = append(c.state, txUnsent)
		c.sentAt = append(c.sentAt, time.Time{})
	}
}

// WaitRoom returns true once fewer than limit txs are pending (submitted,
// neither committed nor rejected) or were refused for overload since the
// last block, or false when ctx ends first.
func (c *Collector) WaitRoom(ctx context.Context, limit int64) bool {
	for {
		c.mu.Lock()
		if c.pendingLocked()+c.backoff < limit {
			c.mu.Unlock()
			return true
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return false
		}
	}
}

// wakeLocked wakes the WaitRoom callers after pending txs dropped.
func (c *Collector) wakeLocked() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

// Sent records that tx seq was submitted at t.
func (c *Collector) Sent(seq uint64, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.growLocked(seq)
	if c.state[seq] != txUnsent {
		return
	}
	c.state[seq], c.sentAt[seq] = txSent, t
	c.sent++
}

// Rejected records that the node refused tx seq (a non-zero CheckTx
// code); it no longer counts as pending.
func (c *Collector) Rejected(seq uint64) { c.settle(seq, txRejected, &c.rejected) }

// Failed records that the submission of tx seq failed (an RPC or
// connection error); it counts as an error, no longer as pending.
func (c *Collector) Failed(seq uint64) { c.settle(seq, txFailed, &c.failed) }

// Refused records that the node refused tx seq for overload (its mempool
// is full: an explicit refusal the client may retry, not an error); it no
// longer counts as pending.
func (c *Collector) Refused(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settleLocked(seq, txRefused, &c.refused) {
		c.backoff++
	}
}

// settle moves a sent tx to state st and counts it in *n.
func (c *Collector) settle(seq uint64, st txState, n *int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settleLocked(seq, st, n)
}

// settleLocked is settle with c.mu held; it reports whether tx seq was
// pending.
func (c *Collector) settleLocked(seq uint64, st txState, n *int64) bool {
	c.growLocked(seq)
	if c.state[seq] != txSent {
		return false
	}
	c.state[seq] = st
	*n++
	c.wakeLocked()
	return true
}

func (c *Collector) pendingLocked() int64 {
	return c.sent - c.committed - c.rejected - c.failed - c.refused
}

// Cancelled records that the submission of tx seq was cut short (the load
// ended mid-request), so whether the node got it is unknown: it no longer
// counts as sent, but still counts as committed if it shows up in a block.
func (c *Collector) Cancelled(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.growLocked(seq)
	if c.state[seq] == txSent {
		c.state[seq] = txUnsent
		c.sent--
		c.wakeLocked()
	}
}

// AddBlock records a committed block and returns how many of its txs are
// newly committed txs of ours.
func (c *Collector) AddBlock(b Block) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firstHeight == 0 || b.Height < c.firstHeight {
		c.firstHeight = b.Height
	}
	c.lastHeight = max(c.lastHeight, b.Height)
	if c.backoff > 0 {
		c.backoff = 0
		c.wakeLocked()
	}
	inLoad := !c.loadStart.IsZero() && !b.Received.Before(c.loadStart) && (c.loadEnd.IsZero() || b.Received.Before(c.loadEnd))
	if inLoad {
		c.blocks++
		c.blockTxs += int64(len(b.Txs))
		if b.LastCommitRound > 0 {
			c.lateRounds++
		}
	}
	stat := BlockStat{Height: b.Height, Received: b.Received, Txs: len(b.Txs), LastCommitRound: b.LastCommitRound}
	if n := len(c.perBlock); n > 0 {
		stat.Interval = b.Received.Sub(c.perBlock[n-1].Received)
	}
	var latSum time.Duration
	latN := 0
	ours := 0
	for _, tx := range b.Txs {
		seq, ok := c.gen.Parse(tx)
		if !ok {
			c.foreign++
			continue
		}
		c.growLocked(seq)
		switch c.state[seq] {
		case txCommitted:
			c.duplicates++
			continue
		case txRejected:
			c.rejected-- // refused by one node, yet committed
		case txFailed:
			c.failed-- // its answer failed, yet it got in
		case txRefused:
			c.refused-- // refused by one node, yet committed
		case txUnsent:
			// its submission was cut short (Cancelled), yet it got in:
			// count it as sent and committed, without a latency
			c.state[seq] = txCommitted
			c.sent++
			c.committed++
			ours++
			continue
		}
		c.state[seq] = txCommitted
		c.committed++
		ours++
		lat := b.Received.Sub(c.sentAt[seq])
		c.latencies = append(c.latencies, lat)
		latSum += lat
		latN++
		stat.LatencyMax = max(stat.LatencyMax, lat)
	}
	stat.BenchTxs = ours
	if latN > 0 {
		stat.LatencyMean = latSum / time.Duration(latN)
	}
	c.perBlock = append(c.perBlock, stat)
	if ours > 0 {
		c.wakeLocked()
		if b.Received.After(c.lastCommit) {
			c.lastCommit = b.Received
		}
		if c.windows != nil {
			c.windows.Add(b.Received, int64(ours))
		}
	}
	return ours
}

// Progress is a snapshot for the per-second progress line.
type Progress struct {
	Height    int64
	Sent      int64
	Committed int64
	Rejected  int64
	Refused   int64
	Errors    int64
}

// Progress returns the current counts.
func (c *Collector) Progress() Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Progress{Height: c.lastHeight, Sent: c.sent, Committed: c.committed, Rejected: c.rejected, Refused: c.refused, Errors: c.failed}
}

// Pending is how many submitted txs are neither committed nor rejected nor
// failed.
func (c *Collector) Pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingLocked()
}

// Summary computes the results. The load period is the one marked by
// StartLoad and EndLoad.
func (c *Collector) Summary() Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Summary{
		Start:      c.loadStart,
		Duration:   c.loadEnd.Sub(c.loadStart),
		TxSize:     c.gen.Size(),
		Submitted:  c.sent,
		Rejected:   c.rejected,
		Errors:     c.failed,
		Refused:    c.refused,
		Committed:  c.committed,
		Duplicates: c.duplicates,
		Foreign:    c.foreign,
		Lost:       c.pendingLocked(),
		Blocks:     c.blocks,
		LateRounds: c.lateRounds,
		Heights:    c.loadEndHeight - c.loadStartHeight,
		LastHeight: c.lastHeight,
		PerBlock:   slices.Clone(c.perBlock),
	}
	if c.windows != nil && !c.loadEnd.IsZero() {
		s.CommittedTxPerSecWindowMedian = Median(c.windows.Rates(c.loadEnd))
	}
	if span := c.lastCommit.Sub(c.loadStart); c.committed > 0 && span > 0 {
		s.CommittedTxPerSec = float64(c.committed) / span.Seconds()
	}
	if s.Duration > 0 {
		s.BlocksPerSec = float64(s.Heights) / s.Duration.Seconds()
	}
	if c.blocks > 0 {
		s.MeanBlockTxs = float64(c.blockTxs) / float64(c.blocks)
	}
	lat := slices.Clone(c.latencies)
	slices.Sort(lat)
	s.LatencyP50 = Percentile(lat, 50)
	s.LatencyP95 = Percentile(lat, 95)
	s.LatencyP99 = Percentile(lat, 99)
	if len(lat) > 0 {
		s.LatencyMax = lat[len(lat)-1]
	}
	return s
}
