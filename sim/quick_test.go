package sim_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/internal/byzantine/simmodes"
	"github.com/bftnode/bftnode/sim"
)

// seeds is how many seeds each configuration of the quick set runs; the
// long form (BFTNODE_LONG=1, `make test-long`) runs 50 times more.
func seeds(quick uint64) uint64 {
	if os.Getenv("BFTNODE_LONG") != "" {
		return quick * 50
	}
	return quick
}

// behaviours are the Byzantine behaviours the quick set runs: package
// internal/byzantine's modes, and a mix of them.
var behaviours = []string{"equivocate", "doublevote", "silent", "amnesia", "futuretime", "lockattack", "garbage", simmodes.Mix}

// withByzantine is cfg with its last count validators Byzantine in
// behaviour (package simmodes).
func withByzantine(t *testing.T, cfg sim.Config, count int, behaviour string) sim.Config {
	t.Helper()
	if err := (simmodes.Byzantine{Count: count, Behaviour: behaviour}).Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runSeeds runs cfg for seeds 1..count, on every CPU, and returns the
// summary (in seed order: it does not depend on the CPUs).
func runSeeds(t *testing.T, cfg sim.Config, count uint64) sim.Summary {
	t.Helper()
	var s sim.Summary
	if err := sim.RunSeeds(context.Background(), cfg, 1, count, runtime.GOMAXPROCS(0), func(r sim.Result, _ uint64) { s.Add(r) }); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSafeAndLiveWithinF runs every Byzantine behaviour (and none) with f
// Byzantine validators out of n = 3f+1, with partitions, drops and crashes
// of correct validators before GST: no violation of Agreement, Validity or
// the no-double-sign rule, and every run decides all heights after GST.
func TestSafeAndLiveWithinF(t *testing.T) {
	for _, tc := range []struct {
		n     int
		seeds uint64
	}{{4, 24}, {7, 8}} {
		for _, b := range append([]string{"none"}, behaviours...) {
			f := (tc.n - 1) / 3
			if b == "none" {
				f = 0
			}
			t.Run(fmt.Sprintf("n=%d/%s", tc.n, b), func(t *testing.T) {
				cfg := sim.DefaultConfig()
				cfg.Validators, cfg.Crashes = tc.n, 2
				cfg = withByzantine(t, cfg, f, b)
				s := runSeeds(t, cfg, seeds(tc.seeds))
				for _, v := range s.Violations {
					t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
				}
				if want := int64(s.Runs) * cfg.Heights; s.HeightsDecided != want {
					t.Errorf("decided %d heights over %d runs, want %d", s.HeightsDecided, s.Runs, want)
				}
			})
		}
	}
}

// TestSafeWithoutGST keeps the network asynchronous (drops, partitions,
// unbounded reordering) for the whole run: liveness is not promised, but
// safety must hold.
func TestSafeWithoutGST(t *testing.T) {
	for _, b := range append([]string{"none"}, behaviours...) {
		t.Run(b, func(t *testing.T) {
			cfg := sim.DefaultConfig()
			cfg.GST, cfg.Crashes, cfg.Heights = sim.NoGST, 3, 10
			f := 1
			if b == "none" {
				f = 0
			}
			cfg = withByzantine(t, cfg, f, b)
			s := runSeeds(t, cfg, seeds(6))
			for _, v := range s.Violations {
				t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
			}
		})
	}
}

// TestBoundIsTight: with more than f Byzantine validators (2 of 4
// equivocating), the simulator finds two correct validators deciding
// different blocks, as the theory says it must be able to.
func TestBoundIsTight(t *testing.T) {
	cfg := withByzantine(t, sim.DefaultConfig(), 2, "equivocate")
	s := runSeeds(t, cfg, 10)
	for _, v := range s.Violations {
		if v.Kind == sim.ViolationAgreement {
			t.Logf("found as expected: %v (replay: %s)", v.Violation, v.Replay)
			return
		}
	}
	t.Fatalf("no agreement violation in %d runs with 2 of 4 validators equivocating", s.Runs)
}

// TestReplayIsDeterministic: a seed reproduces its run exactly, so a
// violation's replay command shows the same failure.
func TestReplayIsDeterministic(t *testing.T) {
	cfg := withByzantine(t, sim.DefaultConfig(), 1, simmodes.Mix)
	cfg.Seed = 7
	a, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Config.Decorate, b.Config.Decorate = nil, nil // funcs are never DeepEqual
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different runs:\n%+v\n%+v", a, b)
	}
	cfg.Seed = 8
	c, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Stats, c.Stats) {
		t.Fatalf("seeds 7 and 8 gave identical stats %+v: the seed does not reach the schedule", a.Stats)
	}
}

// TestRunSeedsMatchesSequentialRuns: the parallel runner folds results in
// seed order, so its summary equals the one built run by run.
func TestRunSeedsMatchesSequentialRuns(t *testing.T) {
	cfg := withByzantine(t, sim.DefaultConfig(), 1, simmodes.Mix)
	cfg.Heights = 5
	var want sim.Summary
	for seed := uint64(1); seed <= 6; seed++ {
		cfg.Seed = seed
		r, err := sim.Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want.Add(r)
	}
	var got sim.Summary
	var calls uint64
	err := sim.RunSeeds(context.Background(), cfg, 1, 6, 3, func(r sim.Result, done uint64) {
		got.Add(r)
		calls = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parallel summary differs:\n%+v\n%+v", got, want)
	}
	if calls != 6 {
		t.Fatalf("progress reported %d runs done, want 6", calls)
	}
}

// TestRunSeedsStopsWhenCancelled: Ctrl-C on `bftnode sim` stops starting
// runs and says how far it got.
func TestRunSeedsStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := sim.DefaultConfig()
	cfg.Heights = 1
	folded := 0
	err := sim.RunSeeds(ctx, cfg, 1, 1000, 2, func(sim.Result, uint64) { folded++ })
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
	if folded >= 1000 {
		t.Fatalf("all %d runs happened despite the cancelled context", folded)
	}
}

// TestCrashesNeverDoubleSign: correct validators crash often, at any
// moment: between events, halfway through one (at a WAL write or sync, or
// between the signer's write of its state and its sync), and lose what
// their disks had not synced (torn WAL tails, unsynced state writes). Each
// restarts through the engine's real recovery. None ever signs two
// different votes for one height, round and type or sends an own message
// before it is durable, and all decide every height after GST.
func TestCrashesNeverDoubleSign(t *testing.T) {
	for _, n := range []int{4, 7} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			cfg := sim.DefaultConfig()
			cfg.Validators, cfg.Crashes = n, 8
			s := runSeeds(t, cfg, seeds(8))
			for _, v := range s.Violations {
				t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
			}
			if want := int64(s.Runs) * cfg.Heights; s.HeightsDecided != want {
				t.Errorf("decided %d heights over %d runs, want %d", s.HeightsDecided, s.Runs, want)
			}
			if s.Stats.PowerCuts == 0 || s.Stats.LostWrites == 0 {
				t.Errorf("over %d runs %d crashes came halfway through an event and %d lost unsynced writes; want both", s.Runs, s.Stats.PowerCuts, s.Stats.LostWrites)
			}
		})
	}
}

// TestEquivocatorsAreConvicted (accountability): in every run the one
// Byzantine validator, equivocating or double-voting, ends with
// duplicate-vote evidence against it in a block the correct validators
// committed, and no correct validator is ever accused (a violation).
func TestEquivocatorsAreConvicted(t *testing.T) {
	for _, b := range []string{"equivocate", "doublevote"} {
		t.Run(b, func(t *testing.T) {
			cfg := sim.DefaultConfig()
			cfg.Crashes = 2
			cfg = withByzantine(t, cfg, 1, b)
			s := runSeeds(t, cfg, seeds(6))
			for _, v := range s.Violations {
				t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
			}
			if s.Stats.Accused != uint64(s.Runs) {
				t.Errorf("over %d runs, %d validators were convicted (%d pieces of evidence committed); want the Byzantine one of each run",
					s.Runs, s.Stats.Accused, s.Stats.CommittedEvidence)
			}
		})
	}
}

// TestRegressionSeeds replays seeds that once failed. 329, 3864, 6568,
// 7528, 7797 and 8996 (n=4, 1 mix, 2 crashes) stalled a validator forever:
// a crash between a decision and the next StartHeight left only late inputs
// of the decided height in its log, whose replay never started a height.
// They run with the mix of then, so that each still picks what it picked.
func TestRegressionSeeds(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Crashes = 2
	cfg = withByzantine(t, cfg, 1, "mix:equivocate,doublevote,silent,amnesia")
	for _, seed := range []uint64{329, 3864, 6568, 7528, 7797, 8996} {
		cfg.Seed = seed
		r, err := sim.Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range r.Violations {
			t.Errorf("seed %d: %v\n  replay: %s", seed, v, cfg.ReplayCommand())
		}
	}
	// Seed 657 (4 crashes, 3 heights, GST 2s) stalled height 1 for good:
	// two validators' nil precommits were signed, their WAL records lost
	// in power cuts, and the signers refused the precommits asked anew
	// (the engine now sends the nil precommit the signer holds).
	cfg = sim.DefaultConfig()
	cfg.Crashes, cfg.Heights, cfg.GST, cfg.Seed = 4, 3, 2*time.Second, 657
	r, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Violations {
		t.Errorf("%v\n  replay: %s", v, cfg.ReplayCommand())
	}
	if r.Stats.PowerCuts == 0 {
		t.Errorf("seed 657 no longer cuts the power halfway through an event: it no longer tests what it was kept for")
	}
	// Seed 5805 (4 crashes, 3 heights) stalled height 1 for good: two
	// validators prevoted a block of round 1 and lost in power cuts both
	// their prevotes' WAL records and the proposal; restarted, they could
	// not find the prevote their signers held until the proposal came
	// again (the engine now looks for it then), and round 1 lacked two
	// prevotes.
	cfg = sim.DefaultConfig()
	cfg.Crashes, cfg.Heights, cfg.Seed = 4, 3, 5805
	if r, err = sim.Run(cfg); err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Violations {
		t.Errorf("%v\n  replay: %s", v, cfg.ReplayCommand())
	}
}

// A FutureTime validator (clock an hour ahead, proposals dated an hour
// after BFT time) among 4, with crashes and a stormy start: its proposals
// are tried and get no correct validator's vote, every decided block is
// dated by the weighted median of its last commit within the correct
// clocks, and late clocks had their vote times raised past the block.
func TestFutureTimeProposerGetsNoCorrectVote(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Crashes = 2
	cfg = withByzantine(t, cfg, 1, "futuretime")
	s := runSeeds(t, cfg, seeds(8))
	for _, v := range s.Violations {
		t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
	}
	if want := int64(s.Runs) * cfg.Heights; s.HeightsDecided != want {
		t.Errorf("decided %d heights over %d runs, want %d", s.HeightsDecided, s.Runs, want)
	}
	if s.Stats.MisdatedProposals == 0 {
		t.Error("the FutureTime validator never proposed: its attack was not tried")
	}
	if s.Stats.RaisedVoteTimes == 0 {
		t.Error("no correct vote time was raised past a late clock: the vote time rule was not tried")
	}
}

// A Decorate that names a validator the network does not have fails the
// run, and RunSeeds, with the seed.
func TestDecorateOutOfRange(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Heights = 1
	cfg.Decorate = func(_ *rand.Rand, validators int) map[int]sim.Decoration {
		return map[int]sim.Decoration{validators: {Label: "ghost", Ports: func(ed25519.PrivateKey, *engine.Deps) error { return nil }}}
	}
	if _, err := sim.Run(cfg); err == nil || !strings.Contains(err.Error(), "decorated validator 4 of a network of 4") {
		t.Fatalf("Run: %v", err)
	}
	err := sim.RunSeeds(context.Background(), cfg, 5, 3, 2, func(sim.Result, uint64) { t.Error("a run was folded") })
	if err == nil || !strings.Contains(err.Error(), "seed ") || !strings.Contains(err.Error(), "decorated validator 4") {
		t.Fatalf("RunSeeds: %v", err)
	}
}
