package p2p

import (
	"sync"

	"github.com/bftnode/bftnode/types"
)

// validatorSets are the validator sets of the height being decided and of
// the next one, loaded from Config.Validators when the height changes; a
// nil set is unknown.
type validatorSets struct {
	height  int64
	current *types.ValidatorSet
	next    *types.ValidatorSet
}

// at returns the set of height h, nil if it is not known.
func (vs validatorSets) at(h int64) *types.ValidatorSet {
	switch h {
	case vs.height:
		return vs.current
	case vs.height + 1:
		return vs.next
	}
	return nil
}

// valSets holds the validatorSets under their own lock: consensus gossip
// checks proposals and votes against them, block sync the commits of the
// heights they cover. SetStatus replaces them when the height changes.
type valSets struct {
	mu sync.Mutex
	vs validatorSets
}

// at returns the set of height h, nil if it is not known.
func (v *valSets) at(h int64) *types.ValidatorSet {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.vs.at(h)
}

// height is the height whose sets are held (0: none yet).
func (v *valSets) height() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.vs.height
}

func (v *valSets) set(vs validatorSets) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vs = vs
}

// loadSets loads the sets of heights h and h+1. A set that cannot be
// loaded stays unknown: proposals of its height are then held unverified
// for the engine to check.
func (t *Transport) loadSets(h int64) validatorSets {
	vs := validatorSets{height: h}
	for _, s := range []struct {
		h   int64
		set **types.ValidatorSet
	}{{h, &vs.current}, {h + 1, &vs.next}} {
		set, err := t.cfg.Validators.LoadValidators(s.h)
		if err != nil {
			t.log.Warn("validator set unknown: proposals of this height are held unchecked until the engine checks them", "height", s.h, "err", err)
			continue
		}
		*s.set = set
	}
	return vs
}
