package sim

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// Where a validator keeps its files, on its simulated disks.
const (
	walDir    = "data/cs.wal"
	statePath = "data/priv_validator_state.json"
	storeDir  = "data/blockstore"
	evDir     = "data/evidence"
)

// node is one simulated validator: the real engine (package
// consensus/engine) over the real WAL, the real signer (privval.FilePV) and
// the real block store, on in-memory disks that a crash treats as a power
// cut treats a disk; the kvstore application in memory; the simulated
// network as its transport and the virtual clock as its clock and timers.
type node struct {
	w    *world
	idx  int
	priv ed25519.PrivateKey
	addr types.Address
	// decoration is what the run's Config.Decorate made of this validator
	// (the zero Decoration: nothing).
	decoration Decoration
	// clock is how far this node's clock is off virtual time.
	clock time.Duration
	// peers are the other nodes in the order ConsensusPeers lists them,
	// drawn from the seed (a misbehaving proposer shows one block to the
	// first half and another to the rest).
	peers []string

	// Disks: what survives a crash is what they had synced.
	disk *faultDisk // the WAL and the signer's last-sign state
	db   *vfs.MemFS // the block store (Pebble)
	// last is the highest height stored, and checked.
	last int64

	// Volatile: lost in a crash.
	up          bool
	incarnation int
	eng         *engine.Engine
	store       *blockstore.Store
	pool        *evidence.Pool
	app         *kvstore.App
	wal         *wal.WAL
	gossip      gossip
}

func newNode(w *world, idx int, priv ed25519.PrivateKey, d Decoration) *node {
	return &node{
		w: w, idx: idx, priv: priv, decoration: d,
		addr: types.AddressOf(priv.Public().(ed25519.PublicKey)),
		disk: newFaultDisk(),
		db:   vfs.NewCrashableMem(),
	}
}

// isCorrect says whether the checks cover the node: it is not decorated,
// or its decoration stands for a defect of the code under test.
func (n *node) isCorrect() bool { return n.decoration.Ports == nil || n.decoration.Honest }

func (n *node) pub() ed25519.PublicKey { return n.priv.Public().(ed25519.PublicKey) }

// Now is the node's clock: virtual time read with the node's offset.
func (n *node) Now() time.Time { return n.w.now().Add(n.clock) }

// AfterFunc runs f after d on the virtual clock unless the node crashes in
// between.
func (n *node) AfterFunc(d time.Duration, f func()) func() bool {
	stopped := false
	n.later(d, func() {
		if !stopped {
			f()
		}
	})
	return func() bool { was := !stopped; stopped = true; return was }
}

// later runs fn after d unless the node crashes in between.
func (n *node) later(d time.Duration, fn func()) {
	inc := n.incarnation
	n.w.sched.after(d, func() {
		if n.up && n.incarnation == inc {
			fn()
		}
	})
}

// timers is the engine's Timers on the virtual clock.
type timers struct{ n *node }

func (t timers) Schedule(d time.Duration, tm engine.Timer) {
	t.n.later(d, func() { t.n.step(StepTimer, -1, func(ctx context.Context) error { return t.n.eng.Fire(ctx, tm) }) })
}

// boot starts the node from its disks, as a real restart does: the block
// store, the WAL and the signer's state are opened, the engine shakes hands
// with a fresh application (which replays the stored blocks) and recovers
// the height in progress from the WAL.
func (n *node) boot() {
	n.up = true
	n.incarnation++
	n.gossip = newGossip()
	if err := n.open(); err != nil {
		n.w.fail(ViolationEngine, n.last+1, "validator %d could not start: %v", n.idx, err)
		n.up = false
		n.release()
		return
	}
	n.step(StepStart, -1, n.eng.Start)
	n.startTicker()
}

func (n *node) open() error {
	store, err := blockstore.Open(storeDir, blockstore.Options{FS: n.db})
	if err != nil {
		return err
	}
	n.store = store
	if n.pool, err = evidence.Open(evDir, simChain{store}, evidence.Options{FS: n.db}); err != nil {
		return err
	}
	if n.wal, err = wal.Open(walDir, wal.Options{FS: n.disk}, nil); err != nil {
		return err
	}
	pv, err := privval.NewFilePVOn(n.disk, n.priv, statePath)
	if err != nil {
		return err
	}
	if n.app, err = kvstore.OpenInMemory(); err != nil {
		return err
	}
	deps := engine.Deps{
		Transport: port{n},
		Store:     store,
		App:       n.app,
		Mempool:   engine.NewMemMempool(),
		Signer:    observedSigner{Signer: pv, n: n},
		WAL:       n.wal,
		Clock:     n,
		Timers:    timers{n},
		Evidence:  n.pool,
	}
	if d := n.decoration.Ports; d != nil {
		if err := d(n.priv, &deps); err != nil {
			return fmt.Errorf("decorating its engine (%s): %w", n.decoration.Label, err)
		}
	}
	if n.w.trace != nil {
		deps.WrapCore = traceCore(deps.WrapCore, n)
	}
	c := n.w.cfg
	n.eng, err = engine.New(engine.Config{
		Genesis:             n.w.genesis,
		Timeouts:            c.Timeouts,
		CommitDelay:         c.CommitDelay,
		CreateEmptyBlocks:   true,
		RebroadcastInterval: gossipInterval,
		OnEvidence: func(ev types.DuplicateVoteEvidence) {
			if n.isCorrect() {
				n.w.stats.Evidence++
			}
		},
	}, deps)
	return err
}

// step hands the engine one input (f) and then looks at what it stored. A
// failure of the engine is a crash: expected when the disk was made to fail
// (a crash halfway through an event), a violation otherwise.
func (n *node) step(kind StepKind, from int, f func(context.Context) error) {
	if !n.up {
		return
	}
	err := f(context.Background())
	n.observe()
	if o := n.w.cfg.Observe; o != nil {
		o(Step{At: n.w.sched.now, Node: n.idx, Kind: kind, From: from, Status: n.gossip.status, Height: n.last, Err: err})
	}
	if err == nil {
		return
	}
	if !n.disk.failed() {
		n.w.fail(ViolationEngine, n.last+1, "validator %d stopped: %v", n.idx, err)
	}
	n.crash()
}

// observe checks each block the node stored since the last look.
func (n *node) observe() {
	for n.last < n.store.Height() {
		h := n.last + 1
		b, err := n.store.LoadBlock(h)
		var c *types.Commit
		if err == nil {
			c, err = n.store.LoadSeenCommit(h)
		}
		if err != nil {
			n.w.fail(ViolationEngine, h, "validator %d stored height %d but cannot read it back: %v", n.idx, h, err)
			return
		}
		n.last = h
		if t := n.w.trace; t != nil {
			t.decided(n.w.sched.now, n.idx, h, c.Round, c.BlockID)
		}
		if n.isCorrect() {
			n.w.check.decided(n.idx, h, c.Round, c.BlockID, b)
			n.w.check.committedEvidence(n.idx, b)
		}
	}
}

// crash stops the node at once: its memory is lost, and so is whatever
// its disks had not synced (a torn WAL tail, an unsynced state slot).
func (n *node) crash() {
	if !n.up {
		return
	}
	n.up = false
	n.incarnation++
	n.eng, n.wal = nil, nil
	cut, lost := n.disk.crash(n.w.rng)
	if cut {
		n.w.stats.PowerCuts++
	}
	if lost {
		n.w.stats.LostWrites++
	}
	clone := n.db.CrashClone(vfs.CrashCloneCfg{})
	n.release() // what the databases still write goes to the lost disk
	n.db = clone
	n.w.stats.Crashes++
	if t := n.w.trace; t != nil {
		t.crashed(n.w.sched.now, n.idx, true)
	}
	if o := n.w.cfg.Observe; o != nil {
		o(Step{At: n.w.sched.now, Node: n.idx, Kind: StepCrash, From: -1, Status: n.gossip.status, Height: n.last})
	}
}

// release closes the node's databases (the block store, the evidence pool
// and the application's), each a Pebble instance whose goroutines and
// memory live until it is closed: a crash or the end of a run that left
// them open would leak them, and a long `bftnode sim` would slow to a
// crawl. The WAL is left as it is: closing it would sync it.
func (n *node) release() {
	if n.pool != nil {
		_ = n.pool.Close()
	}
	if n.store != nil {
		_ = n.store.Close()
	}
	if n.app != nil {
		_ = n.app.Close()
	}
	n.store, n.pool, n.app = nil, nil, nil
}

func (n *node) restart() {
	n.w.stats.Restarts++
	if t := n.w.trace; t != nil {
		t.crashed(n.w.sched.now, n.idx, false)
	}
	n.boot()
}

// The evidence consensus parameters of every simulated chain: CometBFT's
// defaults.
const (
	maxEvidenceBytes     = 1 << 20
	maxEvidenceAgeBlocks = 100_000
	maxEvidenceAge       = 48 * time.Hour
)

// genesisParams are the consensus parameters of every simulated chain:
// the evidence parameters above, the engine's default block size.
var genesisParams = blockstore.ConsensusParams{
	MaxGas:                  -1,
	EvidenceMaxAgeNumBlocks: maxEvidenceAgeBlocks,
	EvidenceMaxAgeDuration:  maxEvidenceAge,
	EvidenceMaxBytes:        maxEvidenceBytes,
	PubKeyTypes:             []string{"ed25519"},
}

// simChain is the evidence pool's view of a node's chain.
type simChain struct{ store *blockstore.Store }

func (c simChain) State() evidence.State {
	st := evidence.State{ChainID: ChainID, Time: epoch,
		Params: evidence.Params{MaxAgeNumBlocks: maxEvidenceAgeBlocks, MaxAgeDuration: maxEvidenceAge, MaxBytes: maxEvidenceBytes}}
	if s, err := c.store.LoadState(); err == nil {
		st.Height, st.Time = s.LastBlockHeight, s.LastBlockTime
	}
	return st
}

func (c simChain) ValidatorsAt(h int64) (*types.ValidatorSet, error) {
	return c.store.LoadValidators(h)
}

func (c simChain) HeaderAt(h int64) (*types.Header, error) {
	m, err := c.store.LoadBlockMeta(h)
	if err != nil {
		return nil, err
	}
	return &m.Header, nil
}

func (c simChain) CommitAt(h int64) (*types.Commit, error) {
	return c.store.LoadBlockCommit(h)
}

// observedSigner is the node's signer, watched by the checker: every vote
// a correct validator signs is checked for double-signing and BFT time.
type observedSigner struct {
	privval.Signer
	n *node
}

func (s observedSigner) SignVote(ChainID string, v *types.Vote) error {
	return s.SignVoteAlongside(ChainID, v, nil)
}

func (s observedSigner) SignVoteAlongside(ChainID string, v *types.Vote, alongside func() error) error {
	clock := s.n.Now()
	err := s.Signer.SignVoteAlongside(ChainID, v, alongside)
	if err == nil && s.n.isCorrect() {
		s.n.w.check.signedVote(s.n.idx, v, s.n.w.blocks[v.BlockID])
		if v.Timestamp.After(clock) {
			s.n.w.stats.RaisedVoteTimes++
		}
	}
	return err
}

// port is the node's transport: the simulated network.
type port struct{ n *node }

var errNoPeer = errors.New("sim: no such peer")

func (p port) Broadcast(m msgs.Msg) {
	p.n.own(m)
	for to := range p.n.w.nodes {
		p.n.w.send(p.n.idx, to, message{msg: m})
	}
}

// Relay keeps a verified message of a peer for gossip (see gossip).
func (p port) Relay(m msgs.Msg) { p.n.gossip.hear(m) }

// Inbound is never read: the simulator hands messages to Engine.Deliver.
func (p port) Inbound() <-chan msgs.Inbound { return nil }

func (p port) SetStatus(st msgs.Status) {
	moved := st.Height != p.n.gossip.status.Height
	p.n.gossip.status = st
	if moved {
		p.n.gossip.heard = nil
		p.n.announce()
	}
}

func (p port) ReportPeer(string, error) { p.n.w.stats.Rejected++ }

// ConsensusPeers and SendDirect let a misbehaving validator's transport
// decorator send different messages to different peers.
func (p port) ConsensusPeers() []string { return p.n.peers }

func (p port) SendDirect(peer string, m any) bool {
	var to int
	if _, err := fmt.Sscanf(peer, "n%d", &to); err != nil || to < 0 || to >= len(p.n.w.nodes) {
		p.n.w.fail(ViolationEngine, 0, "%v: %q", errNoPeer, peer)
		return false
	}
	msg, ok := m.(msgs.Msg)
	if ok {
		p.n.own(msg)
		p.n.w.send(p.n.idx, to, message{msg: msg})
	}
	return ok
}

func peerID(idx int) string { return fmt.Sprintf("n%d", idx) }

// own records an own message leaving the node: the block of a proposal is
// kept for the checker, and a correct validator's message must leave only
// once the WAL and the signer's state that cover it are durable.
func (n *node) own(m msgs.Msg) {
	switch m := m.(type) {
	case msgs.ProposalMsg:
		if !n.isCorrect() && !namesItsBlock(m) {
			return // a decorated validator's malformed proposal, which correct ones refuse
		}
		n.w.blocks[m.Proposal.BlockID] = m.Block
		if n.w.check.proposed(m.Proposal.BlockID, m.Block) {
			n.w.stats.MisdatedProposals++
		}
		if n.isCorrect() {
			p := m.Proposal
			n.checkDurable("proposal", p.Signature, privval.HRS{Height: p.Height, Round: p.Round, Step: privval.StepPropose})
		}
	case msgs.VoteMsg:
		if n.isCorrect() {
			n.checkDurable(m.Vote.Type.String(), m.Vote.Signature, voteHRS(m.Vote))
		}
	}
}

// namesItsBlock says whether m has a proposal and the block it names.
func namesItsBlock(m msgs.ProposalMsg) bool {
	if m.Proposal == nil || m.Block == nil {
		return false
	}
	id, err := types.MakeBlockID(m.Block)
	return err == nil && id == m.Proposal.BlockID
}
