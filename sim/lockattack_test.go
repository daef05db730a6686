package sim

import (
	"fmt"
	"testing"
)

// TestLockAttackTestsLocks: the lock attack brings about what it targets.
// In most seeds, a correct validator locked on the value another correct
// validator already decided is shown, in a later round of that height, a
// proposal of another value: fresh (only L22 keeps it from prevoting it) or
// with a POL older than its lock (only L28 does). The correct core resists
// every time. If the adversary stops isolating deciders or proposing such
// values, this fails, and the quick set no longer catches a broken lock.
func TestLockAttackTestsLocks(t *testing.T) {
	for _, n := range []int{4, 7} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Validators, cfg.Byzantine, cfg.Behaviour, cfg.Heights = n, (n-1)/3, LockAttack, 5
			const runs = 10
			fresh, stale := 0, 0
			for seed := uint64(1); seed <= runs; seed++ {
				cfg.Seed = seed
				r, err := Run(cfg)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range r.Violations {
					t.Errorf("%v\n  replay: %s", v, cfg.ReplayCommand())
				}
				if r.Stats.FreshLockTests > 0 {
					fresh++
				}
				if r.Stats.StaleLockTests > 0 {
					stale++
				}
			}
			if fresh < runs/2 || stale < runs/2 {
				t.Errorf("locks on a decided value tested with a fresh value in %d runs, with an older POL in %d, of %d: want at least half each", fresh, stale, runs)
			}
		})
	}
}

// TestLockAttackBreaksForgottenLocks: correct validators that forget their
// lock and valid value before every step (as a core with L22, L28 or L36
// broken would) fall for the lock attack, and the checker reports
// two different decisions for one height.
func TestLockAttackBreaksForgottenLocks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Byzantine, cfg.Behaviour, cfg.Heights = 1, LockAttack, 5
	const runs = 10
	broken := 0
	for seed := uint64(1); seed <= runs; seed++ {
		cfg.Seed = seed
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		w := newWorld(cfg)
		for _, n := range w.nodes {
			n.amnesic = true
		}
		for _, v := range w.run().Violations {
			if v.Kind == ViolationAgreement {
				broken++
				break
			}
		}
	}
	if broken < runs/2 {
		t.Fatalf("agreement broke in %d of %d runs with forgetful correct validators, want at least half", broken, runs)
	}
}
