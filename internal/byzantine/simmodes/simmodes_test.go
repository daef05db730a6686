package simmodes

import (
	"crypto/ed25519"
	"math/rand/v2"
	"testing"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/sim"
)

// TestLockAttackTestsLocks: the lock attack exercises the locking rules.
// With the correct validators' cores made to forget their lock and valid
// value before every step (byzantine.Amnesia, as a core with its locking
// rules broken would; still checked as correct validators), one lock
// attacker among 4 makes two of them decide differently at some height of
// some seed, where a silent Byzantine validator, over the same seeds and
// storms, makes none; with their locks intact, the lock attack's runs
// have no violation at all.
func TestLockAttackTestsLocks(t *testing.T) {
	const seeds = 8
	forks := map[string]int{}
	for _, tc := range []struct {
		behaviour byzantine.Mode
		forget    bool
	}{{byzantine.LockAttack, false}, {byzantine.LockAttack, true}, {byzantine.Silent, true}} {
		cfg := sim.DefaultConfig()
		cfg.Heights = 6
		if err := (Byzantine{Count: 1, Behaviour: string(tc.behaviour)}).Apply(&cfg); err != nil {
			t.Fatal(err)
		}
		if tc.forget {
			cfg.Decorate = forgetLocks(cfg.Decorate)
		}
		for seed := uint64(1); seed <= seeds; seed++ {
			cfg.Seed = seed
			r, err := sim.Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range r.Violations {
				switch {
				case !tc.forget:
					t.Errorf("%s, locks intact: %v\n  replay: %s", tc.behaviour, v, cfg.ReplayCommand())
				case v.Kind == sim.ViolationAgreement:
					t.Logf("%s, seed %d, locks forgotten: %v", tc.behaviour, seed, v)
					forks[string(tc.behaviour)]++
				}
			}
		}
	}
	if forks[string(byzantine.LockAttack)] == 0 || forks[string(byzantine.Silent)] > 0 {
		t.Fatalf("with the correct validators' locks forgotten, agreement broke %d times in %d seeds of the lock attack and %d times beside a silent validator; "+
			"want some and none: the lock attack does not test the locking rules", forks[string(byzantine.LockAttack)], seeds, forks[string(byzantine.Silent)])
	}
}

// forgetLocks makes the validators that decorate leaves alone forget
// their locks (byzantine.Amnesia), and keeps them correct for the checks.
func forgetLocks(decorate sim.Decorate) sim.Decorate {
	amnesia := byzantine.Decorate(byzantine.Amnesia, nil, sim.ChainID, nil)
	forget := sim.Decoration{Label: "forgets its locks", Honest: true,
		Ports: func(_ ed25519.PrivateKey, d *engine.Deps) error { return amnesia(d) }}
	return func(rng *rand.Rand, validators int) map[int]sim.Decoration {
		d := decorate(rng, validators)
		for i := range validators {
			if _, ok := d[i]; !ok {
				d[i] = forget
			}
		}
		return d
	}
}

// TestGarbageIsRefused: the correct validators refuse every malformed
// message of a garbage validator at the edge (Stats.Rejected), make no
// evidence of them (none is a valid conflicting vote), and decide every
// height, with no violation.
func TestGarbageIsRefused(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Heights, cfg.Crashes = 6, 1
	if err := (Byzantine{Count: 1, Behaviour: string(byzantine.Garbage)}).Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	var s sim.Summary
	for seed := uint64(1); seed <= 4; seed++ {
		cfg.Seed = seed
		r, err := sim.Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.Add(r)
	}
	for _, v := range s.Violations {
		t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
	}
	if want := int64(s.Runs) * cfg.Heights; s.HeightsDecided != want {
		t.Errorf("decided %d heights over %d runs, want %d", s.HeightsDecided, s.Runs, want)
	}
	// Each own message of the garbage validator comes with a malformed
	// one: a few for every height.
	if s.Stats.Rejected < uint64(5*s.HeightsDecided) || s.Stats.Evidence != 0 || s.Stats.CommittedEvidence != 0 {
		t.Errorf("over %d heights: %d messages rejected, %d equivocations detected, %d pieces of evidence committed; want 5 a height or more, none, none",
			s.HeightsDecided, s.Stats.Rejected, s.Stats.Evidence, s.Stats.CommittedEvidence)
	}
}
