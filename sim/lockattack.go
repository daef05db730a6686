package sim

import (
	"sort"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// lockAttack is the adversary of the LockAttack behaviour: the Byzantine
// validators and the network before GST collude against the locking rules,
// the only thing that keeps a value one correct validator decided from
// being decided otherwise by the others. It replaces the random storm: the
// network delivers within Delta what the attack does not hold back.
//
// At each height it attacks, it picks one correct validator, the decider,
// and makes it the only one able to collect 2f+1 precommits for a value:
// the decider's own precommits are held back from the others, and the
// Byzantine validators precommit for real only to the decider (nil to the
// others). The other correct validators then lock on the value without
// deciding it. Once the decider decides v it is cut off (everything it sends
// is held: its votes, the catch-up blocks it would hand out, its next
// height), and the Byzantine validators, which ignore their own locks,
// prevote and precommit for any value but v to everyone (and nil for v).
// Some correct validators, the ignorant ones, are shown no proposal of the
// rounds up to the decision, so they neither lock on v nor make it their
// valid value.
//
// A fresh attack (L22): a later round's proposer, Byzantine or ignorant,
// proposes a fresh value v'. It gets a polka only if the validators locked
// on v prevote it: with a broken lock they decide v' ≠ v. The roles are
// cast from the proposer order so that, if all goes to plan, the proposer
// of the round after the decision is such a proposer.
//
// A stale attack (L28) first locks the ignorant validators on an older
// value u: in the first round with a proposal u, the prevotes for u of the
// ignorant and Byzantine validators reach only the ignorant ones (the
// Byzantine prevote nil to the others), so only they see the polka. After
// the decision those prevotes are delivered, and a later proposer
// (ignorant, or Byzantine on purpose) proposes u with that older POL round.
// Only the rule that a POL older than the lock does not release it (L28)
// keeps the validators locked on v from prevoting u.
//
// The attack on a height ends (everything held is delivered) once the
// rounds of its tests after the decision are over (a fresh value, and in a
// stale attack an older POL too), maxTestRounds after the decision, when
// the decider has not decided by giveUpRound, and at GST at the latest:
// holding messages is only a long delay, which the model allows before GST,
// so a correct core stays safe, and live after GST.
type lockAttack struct {
	w *world
	// quorum is how many validators (all of equal power) make 2f+1.
	quorum int
	// byAddr maps each validator's address to its node.
	byAddr map[types.Address]int
	// byHeight holds each attacked height's attack, running or over.
	byHeight map[int64]*attack
	// running lists the attacks not over yet, by height.
	running []*attack
}

// giveUpRound is the round from which an attack whose decider has not
// decided is abandoned.
const giveUpRound = 4

// attack is the lock attack on one height.
type attack struct {
	decider  int
	ignorant map[int]bool // correct validators shown no proposal of the rounds up to the decision
	stale    bool         // a stale attack (L28), else a fresh one (L22)
	// staleRound is the round of the first proposal seen in a stale attack
	// (-1: none yet), staleValue its value, staleVotes the validators that
	// prevoted it in that round.
	staleRound int32
	staleValue types.BlockID
	staleVotes map[int]bool
	decided    bool
	value      types.BlockID // the decider's decision
	round      int32         // ... and its round
	// freshTest and staleTest are the first later rounds whose proposal
	// tests a lock on value with a fresh value, or with an older POL (-1:
	// none yet).
	freshTest int32
	staleTest int32
	over      bool
	held      []heldMessage // delivered when the attack is over
	unveiled  []heldMessage // delivered at the decision: the stale round's hidden prevotes
}

// tested reports whether, by round r, the attack has made its tests: a
// fresh value, and in a stale attack an older POL too (or r is too late).
func (at *attack) tested(r int32) bool {
	done := func(test int32) bool { return test >= 0 && r > test }
	return done(at.freshTest) && (!at.stale || done(at.staleTest)) || r > at.round+maxTestRounds
}

// maxTestRounds is how many rounds after the decision an attack waits for
// its tests.
const maxTestRounds = 8

type heldMessage struct {
	to int
	m  message
}

func newLockAttack(w *world) *lockAttack {
	a := &lockAttack{w: w, quorum: 2*w.cfg.Validators/3 + 1, byAddr: map[types.Address]int{}, byHeight: map[int64]*attack{}}
	for i, n := range w.nodes {
		a.byAddr[n.addr] = i
	}
	if w.cfg.GST != NoGST {
		w.sched.at(w.cfg.GST, a.endAll)
	}
	return a
}

// at returns the running attack on height h, starting it if h was never
// attacked, or nil when the attack on h is over or the network is
// synchronous.
func (a *lockAttack) at(h int64) *attack {
	if a.w.synchronous() {
		return nil
	}
	if at, ok := a.byHeight[h]; ok {
		if at.over {
			return nil
		}
		return at
	}
	stale := a.w.rng.IntN(2) == 0
	correct := a.w.cfg.Validators - a.w.cfg.Byzantine
	order := a.w.rng.Perm(correct)
	// Cast the roles for the rounds to come, if all goes to plan (a fresh
	// attack decides in round 0 and tests in round 1; a stale one locks the
	// ignorant in round 0, decides in round 1 and tests in round 2): the
	// proposer of the test round, if correct, is ignorant (it has no valid
	// value, or the stale one), and the proposers of the earlier rounds are
	// not (they propose the values to decide or to lock on).
	test := int32(1)
	if stale {
		test = 2
	}
	rank := func(i int) int { // 0: proposes before the test, 2: proposes the test, 1: neither
		switch i {
		case a.proposer(h, test):
			return 2
		case a.proposer(h, 0), a.proposer(h, test-1):
			return 0
		}
		return 1
	}
	sort.SliceStable(order, func(i, j int) bool { return rank(order[i]) < rank(order[j]) })
	// The decider and the locked validators with the Byzantine ones make
	// 2f+1; the rest are ignorant.
	locked := max(a.quorum-a.w.cfg.Byzantine-1, 0)
	at := &attack{
		decider: order[0], ignorant: map[int]bool{}, stale: stale,
		staleRound: -1, staleVotes: map[int]bool{}, freshTest: -1, staleTest: -1,
	}
	for _, i := range order[min(1+locked, correct):] {
		at.ignorant[i] = true
	}
	a.byHeight[h] = at
	a.running = append(a.running, at)
	return at
}

// proposer returns the node that proposes in round r of height h.
func (a *lockAttack) proposer(h int64, r int32) int {
	return a.byAddr[a.w.valsAt(h).ProposerForRound(r).Address]
}

// hold decides whether the network holds m back from node to, and keeps it
// if so.
func (a *lockAttack) hold(to int, m message) bool {
	if a.w.synchronous() {
		return false
	}
	for _, at := range a.running {
		if at.decided && m.from == at.decider {
			at.held = append(at.held, heldMessage{to, m})
			return true
		}
	}
	at := a.at(m.height())
	if at == nil || a.observe(at, m) {
		return false
	}
	switch m.kind {
	case msgVote:
		if v := m.vote; a.hidesStalePrevote(at, v, to) {
			at.unveiled = append(at.unveiled, heldMessage{to, m})
			return true
		} else if m.from != at.decider || v.Type != types.PrecommitType || v.BlockID.IsNil() {
			return false
		}
	case msgProposal:
		if r := m.proposal.Round; !at.ignorant[to] || at.decided && r > at.round || at.stale && r == at.staleRound {
			return false
		}
	case msgCatchup:
	default:
		return false
	}
	at.held = append(at.held, heldMessage{to, m})
	return true
}

// hidesStalePrevote reports whether v is a prevote of a stale attack's
// first round that only the ignorant (and Byzantine) validators may see
// before the decision, and to is not one of them.
func (a *lockAttack) hidesStalePrevote(at *attack, v *types.Vote, to int) bool {
	if !at.stale || at.decided || v.Type != types.PrevoteType || v.Round != at.staleRound || v.BlockID.IsNil() ||
		!a.w.nodes[to].isCorrect() || at.ignorant[to] {
		return false
	}
	voter := a.byAddr[v.ValidatorAddress]
	return at.ignorant[voter] || !a.w.nodes[voter].isCorrect()
}

// observe follows the attacked height through the messages sent, and ends
// the attack (reporting true) when it has done what it could.
func (a *lockAttack) observe(at *attack, m message) bool {
	switch m.kind {
	case msgProposal:
		p := m.proposal
		if at.stale && at.staleRound < 0 && !at.decided {
			at.staleRound, at.staleValue = p.Round, p.BlockID
		}
		if at.decided && p.Round > at.round && p.POLRound < at.round && p.BlockID != at.value {
			test := &at.freshTest
			if p.POLRound >= 0 {
				test = &at.staleTest
			}
			if *test < 0 {
				*test = p.Round
			}
		}
	case msgVote:
		v := m.vote
		if v.Type == types.PrevoteType && v.Round == at.staleRound && v.BlockID == at.staleValue {
			at.staleVotes[a.byAddr[v.ValidatorAddress]] = true
		}
		if m.from == at.decider || !a.w.nodes[m.from].isCorrect() {
			return false
		}
		if r := v.Round; at.decided && at.tested(r) || !at.decided && r >= giveUpRound {
			a.end(at)
			return true
		}
	}
	return false
}

// decided learns a correct validator's decision; the decider's starts the
// second half of the attack.
func (a *lockAttack) decided(validator int, d consensus.Decide) {
	at, ok := a.byHeight[d.Height]
	if !ok || at.over || at.decided || validator != at.decider {
		return
	}
	at.decided, at.value, at.round = true, d.BlockID, d.Round
	a.deliver(&at.unveiled)
}

// end delivers what the attack on a height held back.
func (a *lockAttack) end(at *attack) {
	at.over = true
	running := a.running[:0]
	for _, x := range a.running {
		if x != at {
			running = append(running, x)
		}
	}
	a.running = running
	a.deliver(&at.unveiled)
	a.deliver(&at.held)
}

func (a *lockAttack) endAll() {
	for len(a.running) > 0 {
		a.end(a.running[0])
	}
}

func (a *lockAttack) deliver(list *[]heldMessage) {
	held := *list
	*list = nil
	for _, hm := range held {
		a.w.transmit(hm.to, hm.m)
	}
}

// emit sends a lock attacker's own message. A vote for a value goes for
// real only where it serves the attack, and as a nil vote elsewhere: after
// the decision, to everyone for any value but the decision; before it, a
// precommit to the decider, a prevote of a stale attack's first round to
// the ignorant validators (the others get it too, at the decision). The
// other Byzantine validators always get the real vote.
func (a *lockAttack) emit(n *node, m message) {
	at := a.at(m.height())
	if at == nil || m.kind != msgVote || m.vote.BlockID.IsNil() {
		n.broadcast(m)
		return
	}
	v := m.vote
	// unveiled: the real vote follows the nil one, and the network holds it
	// until the decision (hidesStalePrevote).
	var real func(to int) bool
	unveiled := false
	switch {
	case at.decided:
		real = func(int) bool { return v.BlockID != at.value }
	case v.Type == types.PrecommitType:
		real = func(to int) bool { return to == at.decider }
	case at.stale && v.Round == at.staleRound:
		real = func(to int) bool { return at.ignorant[to] }
		unveiled = true
	default:
		n.broadcast(m)
		return
	}
	blank := *v
	blank.BlockID = types.BlockID{}
	nilMsg := message{kind: msgVote, vote: n.resign(blank)}
	for to, peer := range a.w.nodes {
		switch {
		case to == n.idx:
		case !peer.isCorrect() || real(to):
			n.sendTo(to, m)
		default:
			n.sendTo(to, nilMsg)
			if unveiled {
				n.sendTo(to, m)
			}
		}
	}
}

// propose is the proposal a lock attacker signs instead of p: after the
// decision of a stale attack, the older value with its POL round, which
// only L28 (a POL older than the lock does not release it) keeps the
// validators locked on the decision from prevoting.
func (a *lockAttack) propose(n *node, p types.Proposal) types.Proposal {
	at := a.at(p.Height)
	if at == nil || !at.decided || at.staleTest >= 0 || at.staleRound < 0 || at.staleRound >= at.round || at.staleValue == at.value ||
		len(at.staleVotes) < a.quorum || n.blocks[at.staleValue] == nil {
		return p
	}
	p.BlockID, p.POLRound = at.staleValue, at.staleRound
	return p
}

// blind is the vote a lock attacker's core is given for v: while its height
// is attacked, a precommit as if for nil, so that the core follows the
// rounds (2f+1 precommits of any kind) but never decides the height it
// attacks, and keeps voting in it. The core checks no signature.
func (a *lockAttack) blind(v *types.Vote) *types.Vote {
	if v.Type != types.PrecommitType || v.BlockID.IsNil() || a.at(v.Height) == nil {
		return v
	}
	b := *v
	b.BlockID = types.BlockID{}
	return &b
}
