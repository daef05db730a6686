package engine

import (
	"bytes"
	"fmt"
	"sync"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// MaxEvidence bounds the evidence an engine keeps in memory; past it the
// oldest is dropped.
const MaxEvidence = 1024

// evidenceKey identifies one equivocation: a validator's second vote of
// one type for one height and round. The core may report a validator again
// for the same (height, round, type) when it sends more conflicting votes;
// one record is enough.
type evidenceKey struct {
	addr   types.Address
	height int64
	round  int32
	typ    types.SignedMsgType
}

// evidenceList is a bounded, deduplicated record of the equivocations the
// core reported, safe for concurrent readers.
//
// Equivocations also wait here until their height is committed, when they
// become evidence in the pool (see evidenceCommitted), which p2p gossips.
type evidenceList struct {
	mu    sync.Mutex
	seen  map[evidenceKey]struct{}
	items []types.DuplicateVoteEvidence
	// waiting are the equivocations not yet given to the evidence pool:
	// their height's block is not committed yet (engine goroutine only).
	waiting []types.DuplicateVoteEvidence
}

// add records ev and says whether it is new.
func (l *evidenceList) add(ev types.DuplicateVoteEvidence) bool {
	if ev.VoteA == nil || ev.VoteB == nil {
		return false
	}
	k := evidenceKey{ev.VoteA.ValidatorAddress, ev.VoteA.Height, ev.VoteA.Round, ev.VoteA.Type}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[k]; ok {
		return false
	}
	if l.seen == nil {
		l.seen = map[evidenceKey]struct{}{}
	}
	if len(l.items) >= MaxEvidence {
		old := l.items[0].VoteA
		delete(l.seen, evidenceKey{old.ValidatorAddress, old.Height, old.Round, old.Type})
		l.items = append(l.items[:0], l.items[1:]...)
	}
	l.seen[k] = struct{}{}
	l.items = append(l.items, ev)
	if len(l.waiting) >= MaxEvidence {
		l.waiting = append(l.waiting[:0], l.waiting[1:]...)
	}
	l.waiting = append(l.waiting, ev)
	return true
}

// takeUpTo removes and returns the waiting equivocations of heights up to h.
func (l *evidenceList) takeUpTo(h int64) []types.DuplicateVoteEvidence {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []types.DuplicateVoteEvidence
	keep := l.waiting[:0]
	for _, ev := range l.waiting {
		if ev.VoteA.Height <= h {
			out = append(out, ev)
		} else {
			keep = append(keep, ev)
		}
	}
	l.waiting = keep
	return out
}

func (l *evidenceList) list() []types.DuplicateVoteEvidence {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]types.DuplicateVoteEvidence, len(l.items))
	for i, ev := range l.items {
		a, b := *ev.VoteA, *ev.VoteB
		out[i] = types.DuplicateVoteEvidence{VoteA: &a, VoteB: &b}
	}
	return out
}

// Evidence returns the equivocations this engine has seen (two different
// signed votes of one validator for the same height, round and type),
// oldest first, at most MaxEvidence, one per (validator, height, round,
// type). It is safe to call from any goroutine. The list lives in memory
// only; what reaches blocks is the evidence pool's (Deps.Evidence).
func (e *Engine) Evidence() []types.DuplicateVoteEvidence { return e.evidence.list() }

// recordEvidence records an equivocation the core reported, logs it with
// both votes and tells Config.OnEvidence.
func (e *Engine) recordEvidence(ev types.DuplicateVoteEvidence) {
	if !e.evidence.add(ev) {
		return
	}
	a, b := ev.VoteA, ev.VoteB
	e.log.Warn("validator signed two votes", append(e.pos(),
		"validator", fmt.Sprintf("%X", a.ValidatorAddress[:]), "type", a.Type, "vote_height", a.Height, "vote_round", a.Round,
		"vote_a", a.BlockID, "vote_a_time", a.Timestamp, "vote_a_sig", fmt.Sprintf("%X", a.Signature),
		"vote_b", b.BlockID, "vote_b_time", b.Timestamp, "vote_b_sig", fmt.Sprintf("%X", b.Signature))...)
	if e.cfg.OnEvidence != nil {
		e.cfg.OnEvidence(ev)
	}
}

// evidenceBytes is the encoded size of a block's evidence.
func evidenceBytes(l types.EvidenceList) int64 {
	var n int64
	for _, ev := range l {
		n += int64(len(types.EncodeEvidence(ev)))
	}
	return n
}

// misbehavior is the ABCI form of a block's evidence.
func misbehavior(l types.EvidenceList) []abci.Misbehavior {
	var out []abci.Misbehavior
	for _, m := range l.ABCI() {
		out = append(out, abci.Misbehavior{
			Type:             abci.MisbehaviorType(m.Type),
			Validator:        abci.Validator{Address: bytes.Clone(m.ValidatorAddress[:]), Power: m.ValidatorPower},
			Height:           m.Height,
			Time:             m.Time,
			TotalVotingPower: m.TotalVotingPower,
		})
	}
	return out
}

// checkEvidence checks a proposal's evidence with the pool: each must be
// valid, neither expired nor committed, and fit max_bytes.
func (e *Engine) checkEvidence(l types.EvidenceList) error {
	if len(l) == 0 {
		return nil
	}
	if e.d.Evidence == nil {
		return fmt.Errorf("%w: the block carries evidence and this node has no evidence pool", ErrBadMessage)
	}
	return e.d.Evidence.CheckBlockEvidence(l)
}

// evidenceCommitted runs after block b is committed: the pool marks b's
// evidence committed (and prunes; not at blocks without evidence, which
// would cost a sync each), and each equivocation the engine detected at a height
// now committed becomes DuplicateVoteEvidence (with that height's block time
// and validator set; vals is the set that signed b) and goes to the pool.
// A pool that cannot mark stops the engine (ErrStore): it would propose
// the evidence again.
func (e *Engine) evidenceCommitted(b *types.Block, vals *types.ValidatorSet) error {
	if e.d.Evidence == nil {
		return nil
	}
	h := b.Header.Height
	if len(b.Evidence) > 0 {
		if err := e.d.Evidence.MarkCommitted(h, b.Evidence); err != nil {
			return fmt.Errorf("%w: marking the evidence of height %d committed: %w", ErrStore, h, err)
		}
	}
	waiting := e.evidence.takeUpTo(h)
	for _, dv := range waiting {
		ev, err := e.duplicateVoteEvidence(dv, b, vals)
		if err == nil {
			err = e.d.Evidence.Add(ev)
		}
		if err != nil {
			e.log.Warn("equivocation not added to the evidence pool", append(e.pos(), "vote_height", dv.VoteA.Height, "err", err)...)
			continue
		}
		e.log.Info("evidence added to the pool", append(e.pos(), "evidence", ev.String())...)
	}
	return nil
}

// duplicateVoteEvidence completes an equivocation with the time and
// validator set of its height: b's and vals when it is b's height, else
// the stored ones.
func (e *Engine) duplicateVoteEvidence(dv types.DuplicateVoteEvidence, b *types.Block, vals *types.ValidatorSet) (*types.DuplicateVoteEvidence, error) {
	h := dv.VoteA.Height
	t := b.Header.Time
	if h != b.Header.Height {
		old, err := e.d.Store.LoadBlock(h)
		if err != nil {
			return nil, fmt.Errorf("block at height %d: %w", h, err)
		}
		if vals, err = e.d.Store.LoadValidators(h); err != nil {
			return nil, fmt.Errorf("validators at height %d: %w", h, err)
		}
		t = old.Header.Time
	}
	return types.NewDuplicateVoteEvidence(dv.VoteA, dv.VoteB, t, vals)
}
