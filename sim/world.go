package sim

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bftnode/bftnode/types"
)

// chainID of every simulated network.
const chainID = "bftnode-sim"

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
	cfg   Config
	rng   *rand.Rand
	sched scheduler
	nodes []*node
	vals  []*types.ValidatorSet // by height; index 0 unused
	check *checker
	stats Stats

	// partition gives each node a side while a partition is active (nil otherwise).
	partition []int
	// groupA splits the correct validators in two halves for colluding
	// Byzantine validators: one half is shown one block, the other another.
	groupA []bool
	// coalition holds the two blocks of an equivocating proposer by height/round.
	coalition map[heightRound][2]types.BlockID
	// verified caches the signature check of each delivered vote and
	// proposal, by pointer (verifyVote, verifyProposal).
	verified map[any]error
	// attack is the lock attack's adversary, when a validator follows
	// LockAttack (nil otherwise).
	attack *lockAttack
	// trace writes the run's trace when Config.Trace is set (nil otherwise).
	trace *tracer
}

type heightRound struct {
	h int64
	r int32
}

func newWorld(cfg Config) *world {
	w := &world{
		cfg:       cfg,
		rng:       rand.New(rand.NewPCG(cfg.Seed, 0x62667473696d)),
		check:     newChecker(cfg),
		coalition: map[heightRound][2]types.BlockID{},
		verified:  map[any]error{},
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

	// The last cfg.Byzantine validators (in key order) are Byzantine.
	for i, priv := range privs {
		b := Correct
		if i >= cfg.Validators-cfg.Byzantine {
			b = cfg.Behaviour
			if b == Mix {
				b = mixed[w.rng.IntN(len(mixed))]
			}
		}
		w.nodes = append(w.nodes, newNode(w, i, priv, b))
	}
	// Clock offsets come from a source of their own, so that they leave the
	// rest of a seed's run as it was before clocks were skewed.
	clocks := rand.New(rand.NewPCG(cfg.Seed, 0x636c6f636b73))
	for _, n := range w.nodes {
		n.clock = time.Duration(clocks.Int64N(2*int64(cfg.ClockSkew)+1)) - cfg.ClockSkew
		if n.behaviour == FutureTime {
			n.clock = FutureSkew
		}
		w.check.correct[n.addr] = n.isCorrect()
	}
	w.check.timeErr = w.timeErr
	if cfg.Byzantine > 0 && slices.ContainsFunc(w.nodes, func(n *node) bool { return n.behaviour == LockAttack }) {
		w.attack = newLockAttack(w)
	}
	if cfg.Trace != nil {
		w.trace = newTracer(cfg.Trace)
		w.trace.header(w)
	}
	w.groupA = make([]bool, cfg.Validators)
	correct := w.rng.Perm(cfg.Validators - cfg.Byzantine)
	for _, i := range correct[:len(correct)/2] {
		w.groupA[i] = true
	}
	return w
}

// now is the current virtual time as wall time, for events.
func (w *world) now() time.Time { return epoch.Add(w.sched.now) }

// valsAt returns the validator set of height h: the set never changes in the
// simulator, but the proposer rotates once per height.
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

// send puts m on the link from → to, unless the lock attack holds it back.
func (w *world) send(from, to int, m message) {
	if from == to {
		return
	}
	w.stats.Sent++
	m.from = from
	if w.trace != nil {
		w.trace.sent(w, m)
	}
	if w.attack != nil && w.attack.hold(to, m) {
		return
	}
	w.transmit(to, m)
}

// transmit delivers m (from m.from) to node to, subject to the network of
// the moment.
func (w *world) transmit(to int, m message) {
	from := m.from
	var delay time.Duration
	if w.synchronous() || w.attack != nil {
		// The lock attack replaces the random storm before GST: it holds
		// back what it chooses and lets the rest through.
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
			w.partition = nil
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
		if w.trace != nil {
			w.trace.partition(w.sched.now, w.partition)
		}
		w.sched.after(w.randDur(200*time.Millisecond, 2*time.Second), next)
	}
	w.sched.after(w.randDur(0, time.Second), next)
}

// scheduleCrashes crashes random correct validators at random moments
// before until, each coming back after a random downtime.
func (w *world) scheduleCrashes(until time.Duration) {
	correct := w.cfg.Validators - w.cfg.Byzantine
	if correct == 0 {
		return
	}
	for range w.cfg.Crashes {
		n := w.nodes[w.rng.IntN(correct)]
		at := w.randDur(0, until)
		down := w.randDur(50*time.Millisecond, 2*time.Second)
		midway := w.rng.IntN(4) // actions carried out of the next event before dying; 3 = crash at once
		w.sched.at(at, func() {
			if !n.up {
				return
			}
			if midway == 3 {
				n.crash()
			} else {
				n.crashAfter = midway
			}
			w.sched.after(down, func() {
				if n.crashAfter >= 0 { // never got to an event: crash now
					n.crash()
				}
				n.restart()
			})
		})
	}
}

// buildBlock makes the block a node proposes at (h, r), with the commit
// of h-1 it stored as last commit and dated by BFT time (an hour later by a
// FutureTime proposer). Its transactions are unique to the proposer,
// height, round and variant, so equivocating proposers make distinct
// blocks; an invalid variant is refused by the app.
func (w *world) buildBlock(n *node, h int64, r int32, variant int, invalid bool) *types.Block {
	tx := fmt.Sprintf("tx/%d/%d/%d/%d", h, r, n.idx, variant)
	if invalid {
		tx = "invalid/" + tx
	}
	b := &types.Block{
		Header: types.Header{
			Version: types.Version{Block: types.BlockProtocol},
			ChainID: chainID, Height: h,
			ValidatorsHash:  w.valsAt(h).Hash(),
			ProposerAddress: n.addr,
		},
		Data: types.Data{Txs: [][]byte{[]byte(tx)}},
	}
	if prev, ok := n.store[h-1]; ok {
		b.Header.LastBlockID = prev.id
		b.LastCommit = prev.commit
	}
	t, err := types.BlockTime(h, 1, epoch, b.LastCommit, w.valsAt(h-1))
	if err != nil {
		panic(fmt.Sprintf("sim: node %d proposes height %d without a usable commit of height %d: %v", n.idx, h, h-1, err))
	}
	if n.behaviour == FutureTime {
		t = t.Add(FutureSkew)
	}
	b.Header.Time = t
	b.FillHeader()
	return b
}

// valid is what a correct validator checks of a proposed block: the
// simulated application's ProcessProposal, and its BFT time.
func (w *world) valid(b *types.Block, h int64) bool {
	return appValid(b, h) && w.timeErr(b) == nil
}

// timeErr checks that b is dated by BFT time: genesis (virtual time zero)
// for height 1, else the weighted median of its last commit, which must be
// a valid commit of the block before. The answer is cached per block, as
// signatures are (verifyOnce).
func (w *world) timeErr(b *types.Block) error {
	return w.verifyOnce(b, func() error {
		h := b.Header.Height
		if h > 1 {
			if err := w.valsAt(h-1).VerifyCommit(chainID, b.Header.LastBlockID, h-1, b.LastCommit); err != nil {
				return err
			}
		}
		want, err := types.BlockTime(h, 1, epoch, b.LastCommit, w.valsAt(h-1))
		if err != nil {
			return err
		}
		if !b.Header.Time.Equal(want) {
			return fmt.Errorf("%w: %v, BFT time is %v", types.ErrBlockTime, b.Header.Time.Sub(epoch), want.Sub(epoch))
		}
		return nil
	})
}

// blockID is the simulator's BlockID of a block: one part, named by the
// data hash (the real node splits the encoded block into parts).
func blockID(b *types.Block) types.BlockID {
	return types.BlockID{Hash: b.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: b.Header.DataHash}}
}

// appValid is the simulated application's ProcessProposal.
func appValid(b *types.Block, h int64) bool {
	if b.Header.ChainID != chainID || b.Header.Height != h || b.ValidateBasic() != nil {
		return false
	}
	for _, tx := range b.Data.Txs {
		if bytes.HasPrefix(tx, []byte("invalid/")) {
			return false
		}
	}
	return true
}
