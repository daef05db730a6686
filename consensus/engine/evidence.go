package engine

import (
	"fmt"
	"sync"

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
// It is only recorded: gossiping evidence to peers and putting it in blocks
// (and so punishing the validator through the application) are not done.
type evidenceList struct {
	mu    sync.Mutex
	seen  map[evidenceKey]struct{}
	items []types.DuplicateVoteEvidence
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
	return true
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
// only; it is not gossiped nor put in blocks.
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
