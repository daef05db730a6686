package sim

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// ChainID of every simulated network.
const ChainID = "bftnode-sim"

// epoch is virtual time zero as wall time, so timestamps are realistic.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// gossipInterval is how often a stalled node retransmits its own messages of
// the current height (and asks peers for help), standing in for gossip's
// "every message of a correct node eventually reaches every correct node".
const gossipInterval = 400 * time.Millisecond

// asyncHorizon is how long a run without GST lasts.
const asyncHorizon = 60 * time.Second

// world is one simulated network: the scheduler, the links, the nodes and the
// checker. Everything random draws from rng, seeded by Config.Seed.
type world struct {
	cfg     Config
	rng     *rand.Rand
	sched   scheduler
	nodes   []*node
	genesis engine.Genesis
	vals    []*types.ValidatorSet // by height; index 0 unused
	check   *checker
	stats   Stats
	// blocks holds every proposed block by ID, for the checker, and
	// timeErrs the BFT time check of each block checked.
	blocks   map[types.BlockID]*types.Block
	timeErrs map[*types.Block]error

	// partition gives each node a side while a partition is active (nil otherwise).
	partition []int
	// trace writes the run's trace when Config.Trace is set (nil otherwise).
	trace *tracer
}

func newWorld(cfg Config) (*world, error) {
	w := &world{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x62667473696d)),
		check:    newChecker(cfg),
		blocks:   map[types.BlockID]*types.Block{},
		timeErrs: map[*types.Block]error{},
	}
	vals := make([]*types.Validator, cfg.Validators)
	privs := make([]ed25519.PrivateKey, cfg.Validators)
	for i := range vals {
		var seed [ed25519.SeedSize]byte
		binary.BigEndian.PutUint64(seed[:], cfg.Seed)
		binary.BigEndian.PutUint64(seed[8:], uint64(i))
		privs[i] = ed25519.NewKeyFromSeed(seed[:])
		vals[i] = types.NewValidator(privs[i].Public().(ed25519.PublicKey), 10)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		panic(err) // keys are distinct and powers positive by construction
	}
	w.vals = []*types.ValidatorSet{nil, vs}
	w.genesis = engine.Genesis{ChainID: ChainID, InitialHeight: 1, Time: epoch, Validators: vs, AppState: []byte("{}"), ConsensusParams: genesisParams}

	var decorations map[int]Decoration
	if cfg.Decorate != nil {
		decorations = cfg.Decorate(w.rng, cfg.Validators)
	}
	for i := range decorations {
		if i < 0 || i >= cfg.Validators {
			return nil, fmt.Errorf("decorated validator %d of a network of %d: Config.Decorate must return indexes 0 to %d", i, cfg.Validators, cfg.Validators-1)
		}
	}
	for i, priv := range privs {
		w.nodes = append(w.nodes, newNode(w, i, priv, decorations[i]))
	}
	// Clock offsets come from a source of their own, so that they leave the
	// rest of a seed's run as it was before clocks were skewed.
	clocks := rand.New(rand.NewPCG(cfg.Seed, 0x636c6f636b73))
	for _, n := range w.nodes {
		n.clock = time.Duration(clocks.Int64N(2*int64(cfg.ClockSkew)+1)) - cfg.ClockSkew
		w.check.correct[n.addr] = n.isCorrect()
	}
	for _, n := range w.nodes {
		for _, i := range w.rng.Perm(cfg.Validators) {
			if i != n.idx {
				n.peers = append(n.peers, peerID(i))
			}
		}
	}
	w.check.timeErr = w.timeErr
	if cfg.Trace != nil {
		w.trace = newTracer(cfg.Trace)
		w.trace.header(w)
	}
	return w, nil
}

func (w *world) fail(kind string, h int64, format string, args ...any) {
	w.check.fail(kind, h, format, args...)
}

// now is the current virtual time as wall time, for events.
func (w *world) now() time.Time { return epoch.Add(w.sched.now) }

// chainVals is the validator set of height h as the chain has it (the
// application may change it: the kvstore app removes a validator evidence
// convicts), read from the first node that stored h; before any did, the
// genesis set with its proposer rotated (valsAt).
func (w *world) chainVals(h int64) *types.ValidatorSet {
	for _, n := range w.nodes {
		if n.store != nil && n.store.Height() >= h {
			if vs, err := n.store.LoadValidators(h); err == nil {
				return vs
			}
		}
	}
	return w.valsAt(h)
}

// valsAt returns the genesis validator set at height h, its proposer
// rotated once per height.
func (w *world) valsAt(h int64) *types.ValidatorSet {
	for int64(len(w.vals)) <= h {
		next := w.vals[len(w.vals)-1].Copy()
		next.IncrementProposerPriority(1)
		w.vals = append(w.vals, next)
	}
	return w.vals[h]
}

func (w *world) synchronous() bool {
	return w.cfg.GST != NoGST && w.sched.now >= w.cfg.GST
}

// send puts m (from node from) on the link to node to, subject to the
// network of the moment.
func (w *world) send(from, to int, m message) {
	if from == to {
		return
	}
	w.stats.Sent++
	m.from = from
	if w.trace != nil {
		w.trace.sent(w, m)
	}
	var delay time.Duration
	if w.synchronous() {
		delay = w.randDur(0, w.cfg.Delta)
	} else {
		if w.partition != nil && w.partition[from] != w.partition[to] || w.rng.Float64() < w.cfg.DropRate {
			w.stats.Dropped++
			return
		}
		delay = w.randDur(0, w.cfg.MaxDelay)
		if w.cfg.GST != NoGST {
			// Messages sent before GST arrive by GST + Delta at the latest.
			delay = min(delay, w.cfg.GST+w.randDur(0, w.cfg.Delta)-w.sched.now)
		}
	}
	target := w.nodes[to]
	w.sched.after(delay, func() { target.receive(m) })
}

func (w *world) randDur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int64N(int64(hi-lo)+1))
}

// schedulePartitions makes the network split in two random sides and heal,
// over and over, until GST (or the end of an asynchronous run).
func (w *world) schedulePartitions(until time.Duration) {
	var next func()
	next = func() {
		if w.sched.now >= until {
			if w.partition != nil {
				w.partition = nil
				w.tracePartition()
			}
			return
		}
		if w.partition == nil {
			w.partition = make([]int, len(w.nodes))
			for i := range w.partition {
				w.partition[i] = w.rng.IntN(2)
			}
			w.stats.Partitions++
		} else {
			w.partition = nil
		}
		w.tracePartition()
		w.sched.after(w.randDur(200*time.Millisecond, 2*time.Second), next)
	}
	w.sched.after(w.randDur(0, time.Second), next)
}

// tracePartition records the network's split, or its healing, in the trace.
func (w *world) tracePartition() {
	if w.trace != nil {
		w.trace.partition(w.sched.now, w.partition)
	}
}

// scheduleCrashes crashes random correct validators at random moments
// before until, each coming back after a random downtime.
func (w *world) scheduleCrashes(until time.Duration) {
	var correct []*node
	for _, n := range w.nodes {
		if n.isCorrect() {
			correct = append(correct, n)
		}
	}
	if len(correct) == 0 {
		return
	}
	for range w.cfg.Crashes {
		n := correct[w.rng.IntN(len(correct))]
		at := w.randDur(0, until)
		down := w.randDur(50*time.Millisecond, 2*time.Second)
		// A crash comes at once, or halfway through the handling of an
		// event: at one of the WAL's next writes or syncs, or at the
		// signer's next save of its state, written but not synced.
		midway := w.rng.IntN(5)
		w.sched.at(at, func() {
			if !n.up {
				return
			}
			switch midway {
			case 0:
				n.crash()
			case 1:
				n.disk.armState()
			default:
				n.disk.armWAL(w.rng.IntN(4))
			}
			w.sched.after(down, func() {
				n.crash() // if the disk never failed
				n.restart()
			})
		})
	}
}

// timeErr checks that b is dated by BFT time: genesis (virtual time zero)
// for height 1, else the weighted median of its last commit, which must be
// a valid commit of the block before. The answer is kept per block.
func (w *world) timeErr(b *types.Block) error {
	if err, ok := w.timeErrs[b]; ok {
		return err
	}
	err := bftTimeErr(b, w.chainVals(b.Header.Height-1))
	w.timeErrs[b] = err
	return err
}

func bftTimeErr(b *types.Block, lastVals *types.ValidatorSet) error {
	h := b.Header.Height
	if h > 1 {
		if err := lastVals.VerifyCommit(ChainID, b.Header.LastBlockID, h-1, b.LastCommit); err != nil {
			return err
		}
	}
	want, err := types.BlockTime(h, 1, epoch, b.LastCommit, lastVals)
	if err != nil {
		return err
	}
	if !b.Header.Time.Equal(want) {
		return fmt.Errorf("%w: %v, BFT time is %v", types.ErrBlockTime, b.Header.Time.Sub(epoch), want.Sub(epoch))
	}
	return nil
}

// blockID is a block's ID, as the engine makes it.
func blockID(b *types.Block) types.BlockID {
	id, err := types.MakeBlockID(b)
	if err != nil {
		panic(fmt.Sprintf("sim: a block the checker was given has no ID: %v", err))
	}
	return id
}
