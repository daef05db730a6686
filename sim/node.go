package sim

import (
	"crypto/ed25519"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

type msgKind uint8

const (
	msgProposal msgKind = iota + 1 // a signed proposal with its block
	msgVote                        // a signed vote
	msgCatchup                     // a decided block with its commit, for a peer that is behind
	msgStatus                      // "I am at this height", sent by a stalled node
)

type message struct {
	from     int
	kind     msgKind
	proposal *types.Proposal
	block    *types.Block
	vote     *types.Vote
	commit   *types.Commit
	status   int64
}

// height is the height the message is about.
func (m message) height() int64 {
	switch m.kind {
	case msgProposal:
		return m.proposal.Height
	case msgVote:
		return m.vote.Height
	case msgCatchup:
		return m.commit.Height
	}
	return m.status
}

// walRecord is one input as the node persisted it. synced records survive a
// crash, and so does everything before them; later ones are lost.
type walRecord struct {
	ev     consensus.Event
	block  *types.Block
	synced bool
}

type stored struct {
	block  *types.Block
	id     types.BlockID
	commit *types.Commit
}

type outgoing struct {
	to int // -1: every peer
	m  message
}

// maxFuture bounds the messages a node keeps for heights it has not reached.
const maxFuture = 4096

// node is one simulated validator: the real consensus core, driven the way
// the engine drives it (log the input, step, carry out the actions: sign,
// persist, then send).
type node struct {
	w         *world
	idx       int
	priv      ed25519.PrivateKey
	addr      types.Address
	behaviour Behaviour
	// amnesic nodes forget their lock and valid value before every step.
	amnesic bool
	// clock is how far this node's clock is off virtual time.
	clock time.Duration

	// Persisted: survives a crash (the WAL only up to its last synced record).
	wal   []walRecord
	store map[int64]stored
	last  int64

	// Volatile.
	up          bool
	incarnation int
	core        *consensus.State
	blocks      map[types.BlockID]*types.Block
	future      []message
	sent        []outgoing   // own messages of this height, retransmitted when stalled
	heard       []message    // peers' verified messages of this height, relayed when stalled
	heardSet    map[any]bool // the *types.Vote and *types.Proposal pointers in heard
	lastPos     consensus.RoundState
	helped      map[int]time.Duration // when each peer was last sent catch-up blocks
	crashAfter  int                   // crash after this many actions of the next event; -1: no crash pending
	replaying   bool
	pending     []consensus.Action // signing requests met in replay, not yet matched by a logged signature
	feedback    []consensus.Event  // own signed messages waiting to be fed back to the core
	draining    bool
	equivocated map[heightRound]*types.Block
}

func newNode(w *world, idx int, priv ed25519.PrivateKey, b Behaviour) *node {
	return &node{
		w: w, idx: idx, priv: priv, behaviour: b, amnesic: b == Amnesia || b == LockAttack,
		addr:       types.AddressOf(priv.Public().(ed25519.PublicKey)),
		store:      map[int64]stored{},
		crashAfter: -1,
	}
}

func (n *node) isCorrect() bool { return n.behaviour == Correct }

// now is the node's clock: virtual time read with the node's offset.
func (n *node) now() time.Time { return n.w.now().Add(n.clock) }

// later runs fn after d unless the node crashes in between.
func (n *node) later(d time.Duration, fn func()) {
	inc := n.incarnation
	n.w.sched.after(d, func() {
		if n.up && n.incarnation == inc {
			fn()
		}
	})
}

// boot starts the node fresh, or after a crash from what it persisted: the
// decided blocks and the WAL of the current height, replayed through a new
// core with sends suppressed.
func (n *node) boot() {
	n.up = true
	n.incarnation++
	n.core = consensus.New(n.addr, n.w.cfg.Timeouts)
	n.blocks = map[types.BlockID]*types.Block{}
	n.future, n.sent, n.heard, n.heardSet, n.pending, n.feedback = nil, nil, nil, map[any]bool{}, nil, nil
	n.helped = map[int]time.Duration{}
	n.equivocated = map[heightRound]*types.Block{}
	n.crashAfter = -1
	n.startTicker()
	n.wal = fromLastStart(n.wal)
	if len(n.wal) == 0 {
		n.startHeight(n.last + 1)
		return
	}
	n.replaying = true
	for _, rec := range n.wal {
		n.remember(rec.block)
		if own := n.ownMessage(rec.ev); own != nil {
			n.sent = append(n.sent, outgoing{to: -1, m: *own})
		}
		n.apply(rec.ev)
	}
	n.replaying = false
	pending := n.pending
	n.pending = nil
	n.execute(pending)
	n.drain()
}

// fromLastStart returns the records of the height being decided: those from
// its StartHeight on. Inputs that arrive between a decision and the next
// StartHeight (a late timeout or validity answer for the decided height) are
// logged too, but belong to no height to replay: without a StartHeight the
// log is empty.
func fromLastStart(wal []walRecord) []walRecord {
	for i := len(wal) - 1; i >= 0; i-- {
		if _, ok := wal[i].ev.(consensus.StartHeight); ok {
			return wal[i:]
		}
	}
	return nil
}

func (n *node) restart() {
	n.w.stats.Restarts++
	if t := n.w.trace; t != nil {
		t.crashed(n.w.sched.now, n.idx, false)
	}
	n.boot()
}

func (n *node) crash() {
	n.up = false
	n.incarnation++
	n.crashAfter = -1
	n.feedback, n.draining = nil, false
	keep := 0
	for i, r := range n.wal {
		if r.synced {
			keep = i + 1
		}
	}
	n.wal = n.wal[:keep]
	n.w.stats.Crashes++
	if t := n.w.trace; t != nil {
		t.crashed(n.w.sched.now, n.idx, true)
	}
}

// ownMessage returns the message of a logged own signature, and removes the
// matching signing request from those pending in replay.
func (n *node) ownMessage(ev consensus.Event) *message {
	switch e := ev.(type) {
	case consensus.VoteReceived:
		if e.Vote.ValidatorAddress != n.addr {
			return nil
		}
		n.dropPending(func(a consensus.Action) bool {
			sv, ok := a.(consensus.SignVote)
			return ok && sv.Vote.Type == e.Vote.Type && sv.Vote.Round == e.Vote.Round
		})
		return &message{kind: msgVote, vote: e.Vote}
	case consensus.ProposalReceived:
		if n.w.valsAt(e.Proposal.Height).ProposerForRound(e.Proposal.Round).Address != n.addr {
			return nil
		}
		n.dropPending(func(a consensus.Action) bool {
			sp, ok := a.(consensus.SignProposal)
			return ok && sp.Proposal.Round == e.Proposal.Round
		})
		return &message{kind: msgProposal, proposal: e.Proposal, block: n.blocks[e.Proposal.BlockID]}
	}
	return nil
}

func (n *node) dropPending(match func(consensus.Action) bool) {
	kept := n.pending[:0]
	for _, a := range n.pending {
		if !match(a) {
			kept = append(kept, a)
		}
	}
	n.pending = kept
}

func (n *node) remember(b *types.Block) {
	if b != nil {
		n.blocks[blockID(b)] = b
	}
}

// input logs an event (write-ahead) and steps the core with it.
func (n *node) input(ev consensus.Event, block *types.Block, synced bool) {
	n.remember(block)
	n.wal = append(n.wal, walRecord{ev: ev, block: block, synced: synced})
	n.apply(ev)
}

// apply steps the core with ev, then feeds back this node's own signed
// messages, before any other input.
func (n *node) apply(ev consensus.Event) {
	n.step(ev)
	n.drain()
}

func (n *node) drain() {
	if n.draining {
		return
	}
	n.draining = true
	for len(n.feedback) > 0 && n.up {
		next := n.feedback[0]
		n.feedback = n.feedback[1:]
		n.step(next)
	}
	n.draining = false
}

func (n *node) step(ev consensus.Event) {
	if n.amnesic {
		n.core.ForgetLocks()
	}
	before := n.core.RoundState()
	acts, err := n.core.Step(ev)
	if err != nil {
		n.w.stats.Refused++
		return
	}
	if t := n.w.trace; t != nil {
		t.step(n.w.sched.now, n.idx, ev, acts, before, n.core.RoundState())
	}
	n.execute(acts)
}

// execute carries out the core's actions in order.
func (n *node) execute(acts []consensus.Action) {
	for i, a := range acts {
		if !n.replaying && n.crashAfter == i {
			n.crash()
			return
		}
		switch a := a.(type) {
		case consensus.RequestValue:
			n.later(n.w.randDur(0, 5*time.Millisecond), func() { n.buildValue(a) })
		case consensus.ValidateValue:
			b := n.blocks[a.BlockID]
			valid := n.w.valid(b, a.Height)
			n.later(n.w.randDur(0, 5*time.Millisecond), func() {
				n.input(consensus.ValidityChecked{Height: a.Height, BlockID: a.BlockID, Valid: valid, Now: n.now()}, nil, false)
			})
		case consensus.SignProposal, consensus.SignVote:
			if n.replaying {
				n.pending = append(n.pending, a)
			} else {
				n.sign(a)
			}
		case consensus.ScheduleTimeout:
			n.later(a.Duration, func() {
				n.input(consensus.TimeoutFired{Height: a.Height, Round: a.Round, Step: a.Step, Now: n.now()}, nil, false)
			})
		case consensus.Decide:
			n.decide(a)
		case consensus.ReportEvidence:
			n.w.stats.Evidence++
		}
	}
	if !n.replaying && n.crashAfter >= 0 && n.crashAfter >= len(acts) && len(acts) > 0 {
		n.crash()
	}
}

func (n *node) startHeight(h int64) {
	n.input(consensus.StartHeight{Height: h, Validators: n.w.valsAt(h), Now: n.now()}, nil, true)
	buffered := n.future
	n.future = nil
	for _, m := range buffered {
		n.handle(m)
	}
}

func (n *node) decide(a consensus.Decide) {
	b := n.blocks[a.BlockID]
	n.store[a.Height] = stored{block: b, id: a.BlockID, commit: a.Commit}
	n.last = a.Height
	n.wal, n.sent, n.heard, n.heardSet = nil, nil, nil, map[any]bool{} // end of height: the block store now holds it
	if n.isCorrect() {
		n.w.check.decided(n.idx, a, b)
		if n.w.attack != nil {
			n.w.attack.decided(n.idx, a)
		}
	}
	next := a.Height + 1
	n.later(n.w.cfg.CommitDelay, func() { n.startHeight(next) })
}

// buildValue answers RequestValue with a fresh block (two, for an
// equivocating proposer).
func (n *node) buildValue(a consensus.RequestValue) {
	b := n.w.buildBlock(n, a.Height, a.Round, 0, false)
	if n.behaviour == Equivocate {
		other := n.w.buildBlock(n, a.Height, a.Round, 1, n.w.rng.IntN(4) == 0)
		n.remember(other)
		n.equivocated[heightRound{a.Height, a.Round}] = other
		n.w.coalition[heightRound{a.Height, a.Round}] = [2]types.BlockID{blockID(b), blockID(other)}
	}
	n.input(consensus.ValueReady{Height: a.Height, Round: a.Round, BlockID: blockID(b), Now: n.now()}, b, false)
}

// sign signs a proposal or vote, persists it (synced) before anything is
// sent, sends it, and feeds it back to the core.
func (n *node) sign(a consensus.Action) {
	now := n.now()
	var ev consensus.Event
	var block *types.Block
	var msg message
	switch a := a.(type) {
	case consensus.SignVote:
		v := a.Vote
		var after time.Time
		if b := n.blocks[a.After]; b != nil {
			after = b.Header.Time
		}
		clock := v.Timestamp
		v.Timestamp = types.VoteTime(clock, after)
		v.Signature = ed25519.Sign(n.priv, types.VoteSignBytes(chainID, &v))
		if n.isCorrect() {
			n.w.check.signedVote(n.idx, &v, n.blocks[v.BlockID])
			if v.Timestamp.After(clock) {
				n.w.stats.RaisedVoteTimes++
			}
		}
		ev, msg = consensus.VoteReceived{Vote: &v, Now: now}, message{kind: msgVote, vote: &v}
	case consensus.SignProposal:
		p := a.Proposal
		if n.behaviour == LockAttack {
			p = n.w.attack.propose(n, p)
		}
		p.Signature = ed25519.Sign(n.priv, types.ProposalSignBytes(chainID, &p))
		block = n.blocks[p.BlockID]
		if n.w.check.proposed(p.BlockID, block) {
			n.w.stats.MisdatedProposals++
		}
		ev, msg = consensus.ProposalReceived{Proposal: &p, Now: now}, message{kind: msgProposal, proposal: &p, block: block}
	}
	// Persisted (synced) before it is sent, then fed back to the core right
	// after the current event's actions, in the order the WAL holds them.
	n.remember(block)
	n.wal = append(n.wal, walRecord{ev: ev, block: block, synced: true})
	n.emit(msg)
	n.feedback = append(n.feedback, ev)
}

// emit sends an own message the way this node's behaviour dictates.
func (n *node) emit(m message) {
	switch n.behaviour {
	case Silent:
	case Equivocate, DoubleVote:
		n.equivocate(m)
	case Garbage:
		n.broadcast(m)
		n.sendGarbage(m)
	case LockAttack:
		n.w.attack.emit(n, m)
	default:
		n.broadcast(m)
	}
}

func (n *node) broadcast(m message) {
	n.sent = append(n.sent, outgoing{to: -1, m: m})
	for to := range n.w.nodes {
		n.w.send(n.idx, to, m)
	}
}

func (n *node) sendTo(to int, m message) {
	n.sent = append(n.sent, outgoing{to: to, m: m})
	n.w.send(n.idx, to, m)
}

func (n *node) startTicker() {
	inc := n.incarnation
	var tick func()
	tick = func() {
		if !n.up || n.incarnation != inc {
			return
		}
		pos := n.core.RoundState()
		if pos == n.lastPos && n.behaviour != Silent {
			n.retransmit(pos.Height)
		}
		n.lastPos = pos
		n.w.sched.after(gossipInterval, tick)
	}
	n.w.sched.after(n.w.randDur(gossipInterval/2, gossipInterval), tick)
}

// retransmit resends this height's own messages, relays the peers'
// messages it heard, and announces the height, so peers that are ahead send
// what this node missed. Relaying is what gossip promises after GST: a
// message one correct node received reaches every correct node, which the
// locking rules rely on (a polka that locked one node must reach the others
// for L28 to release them).
func (n *node) retransmit(h int64) {
	n.w.stats.Retransmits++
	for _, o := range n.sent {
		for to := range n.w.nodes {
			if o.to == -1 || o.to == to {
				n.w.send(n.idx, to, o.m)
			}
		}
	}
	for _, m := range n.heard {
		for to := range n.w.nodes {
			if to != m.from {
				n.w.send(n.idx, to, m)
			}
		}
	}
	for to := range n.w.nodes {
		n.w.send(n.idx, to, message{kind: msgStatus, status: h})
	}
}
