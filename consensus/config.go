package consensus

import "time"

// Timeouts are the per-step timeouts; each grows linearly with the round,
// timeoutX(r) = X + r·XDelta (lines 57–65), which is what makes a round
// eventually long enough for every correct validator to hear the others.
type Timeouts struct {
	Propose        time.Duration
	ProposeDelta   time.Duration
	Prevote        time.Duration
	PrevoteDelta   time.Duration
	Precommit      time.Duration
	PrecommitDelta time.Duration
}

// DefaultTimeouts suit a LAN: a round with an absent proposer costs about a
// second, and the prevote/precommit timeouts only run when votes split.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Propose:        1000 * time.Millisecond,
		ProposeDelta:   500 * time.Millisecond,
		Prevote:        250 * time.Millisecond,
		PrevoteDelta:   250 * time.Millisecond,
		Precommit:      250 * time.Millisecond,
		PrecommitDelta: 250 * time.Millisecond,
	}
}

// For returns the timeout of step in round r.
func (t Timeouts) For(step Step, r int32) time.Duration {
	base, delta := t.Precommit, t.PrecommitDelta
	switch step {
	case StepPropose:
		base, delta = t.Propose, t.ProposeDelta
	case StepPrevote:
		base, delta = t.Prevote, t.PrevoteDelta
	}
	return base + time.Duration(r)*delta
}
