package byzantine

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// A lock attack goes after the locking rules, the only thing that keeps a
// value one correct validator decided from being decided otherwise by the
// others. When an attacker proposes in round 0 of a height, it splits the
// correct validators' locks there: its proposal and its prevote for it go
// to a quorum's worth of peers only (so that they may lock on it, and the
// rest, ignorant of it, not), and its precommit for it to one of those
// only, the decider (which alone may then decide it). The others are left
// locked on a value one of them decided, or ignorant of it. In the later
// rounds of that height the attackers withhold their votes for that value
// and vote for anything else as their core, which forgets its locks,
// votes; and in any
// round after the first an attacker proposes a fresh value, with no POL
// round, in place of what its core proposes. Only the locking rules then
// keep the locked validators from prevoting the fresh value, and the
// ignorant and the attackers from deciding it. An attacker's core is shown
// the precommits for the value it split as nil precommits, so that it does
// not decide it and goes on voting at that height; it catches up with the
// others' commit.
//
// The attack sends each of an attacker's votes whole or not at all, and
// signs no two different votes for one height, round and type: it leaves
// no evidence. (Its fresh proposals are second proposals of their round,
// which no evidence covers.)

// lockPlan is the split of one height: the value proposed in round 0, the
// peers shown it and the decider.
type lockPlan struct {
	value   types.BlockID
	shown   map[string]bool
	decider string
}

// lockAttacker is the Transport decorator of a lockattack validator.
type lockAttacker struct {
	engine.Transport
	key       *Signer
	chain     string
	log       *slog.Logger
	coalition *Coalition
}

// plans is the part of a Coalition the lock attackers share: each height's
// split, so that every attacker splits the same way.
type plans struct {
	mu     sync.Mutex
	byH    map[int64]lockPlan
	height int64 // the highest height planned
}

func (p *plans) add(h int64, plan lockPlan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byH == nil {
		p.byH = map[int64]lockPlan{}
	}
	p.byH[h] = plan
	p.height = max(p.height, h)
	for k := range p.byH {
		if k < p.height-1 {
			delete(p.byH, k)
		}
	}
}

func (p *plans) at(h int64) (lockPlan, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	plan, ok := p.byH[h]
	return plan, ok
}

func (t *lockAttacker) Broadcast(msg engine.Msg) {
	ds, direct := t.Transport.(DirectSender)
	if !direct {
		t.Transport.Broadcast(msg)
		return
	}
	switch m := msg.(type) {
	case engine.ProposalMsg:
		t.proposal(ds, m)
	case engine.VoteMsg:
		if m.Vote == nil {
			t.Transport.Broadcast(m)
			return
		}
		t.vote(ds, m.Vote)
	default:
		t.Transport.Broadcast(msg)
	}
}

// proposal splits the locks with a round-0 proposal, and puts a fresh
// value in place of a later round's.
func (t *lockAttacker) proposal(ds DirectSender, m engine.ProposalMsg) {
	p := m.Proposal
	if p == nil || m.Block == nil {
		t.Transport.Broadcast(m)
		return
	}
	if p.Round > 0 {
		// Another block (equivocalBlock) and no POL round: the same every
		// time for one m.
		fresh, err := resigned(t.key, t.chain, m, equivocalBlock, -1)
		if err != nil {
			t.log.Error("byzantine: building a fresh proposal", "err", err)
			fresh = m
		}
		t.Transport.Broadcast(fresh)
		return
	}
	plan, ok := t.coalition.plans.at(p.Height)
	if !ok {
		plan = split(ds.ConsensusPeers(), p.Height, p.BlockID)
		t.coalition.plans.add(p.Height, plan)
		t.log.Warn("byzantine: splitting locks", "height", p.Height, "block", p.BlockID, "decider", plan.decider)
	}
	t.sendTo(ds, m, func(peer string) bool { return plan.shown[peer] })
}

// split picks, by height, the peers shown a height's round-0 value: all
// but a third of them (the ignorant ones), a quorum with this validator;
// the first shown is the decider.
func split(peers []string, h int64, value types.BlockID) lockPlan {
	peers = slices.Sorted(slices.Values(peers))
	plan := lockPlan{value: value, shown: map[string]bool{}}
	if len(peers) == 0 {
		return plan
	}
	ignorant := (len(peers) + 1) / 3
	start := int(h % int64(len(peers)))
	for i := range len(peers) - ignorant {
		peer := peers[(start+i)%len(peers)]
		plan.shown[peer] = true
		if i == 0 {
			plan.decider = peer
		}
	}
	return plan
}

// vote sends v as the plan of its height has it: in round 0 a vote for the
// split value goes only to the peers shown it (a precommit only to the
// decider); in later rounds one for it goes nowhere.
func (t *lockAttacker) vote(ds DirectSender, v *types.Vote) {
	plan, ok := t.coalition.plans.at(v.Height)
	switch {
	case !ok || v.BlockID != plan.value:
		t.Transport.Broadcast(engine.VoteMsg{Vote: v})
	case v.Round == 0 && v.Type == types.PrevoteType:
		t.sendTo(ds, engine.VoteMsg{Vote: v}, func(peer string) bool { return plan.shown[peer] })
	case v.Round == 0:
		t.sendTo(ds, engine.VoteMsg{Vote: v}, func(peer string) bool { return peer == plan.decider })
	}
}

// sendTo sends m to the peers to picks.
func (t *lockAttacker) sendTo(ds DirectSender, m engine.Msg, to func(peer string) bool) {
	for _, peer := range ds.ConsensusPeers() {
		if to(peer) {
			ds.SendDirect(peer, m)
		}
	}
}

// lockAttackCore is a lock attacker's core: it forgets its locks before
// every step, and takes a precommit for a height's split value for a nil
// one.
type lockAttackCore struct {
	*consensus.State
	plans *plans
}

func (c lockAttackCore) Step(ev consensus.Event) ([]consensus.Action, error) {
	c.ForgetLocks()
	if vr, ok := ev.(consensus.VoteReceived); ok && vr.Vote != nil && vr.Vote.Type == types.PrecommitType {
		if plan, ok := c.plans.at(vr.Vote.Height); ok && vr.Vote.BlockID == plan.value {
			blind := *vr.Vote
			blind.BlockID = types.BlockID{}
			vr.Vote = &blind
			ev = vr
		}
	}
	return c.State.Step(ev)
}
