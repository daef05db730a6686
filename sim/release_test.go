package sim_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/bftnode/bftnode/internal/byzantine/simmodes"
	"github.com/bftnode/bftnode/sim"
)

// TestRunsLeaveNothingRunning: a run closes every database its validators
// opened (the block stores, evidence pools and applications, each a Pebble
// instance with goroutines and memory of its own), those of validators
// that crashed included, so that thousands of seeds in one process
// (`bftnode sim --seeds 10000`) run as fast as the first.
func TestRunsLeaveNothingRunning(t *testing.T) {
	cfg := withByzantine(t, sim.DefaultConfig(), 1, simmodes.Mix)
	cfg.Crashes, cfg.Heights, cfg.GST = 4, 3, 2*time.Second
	before := runtime.NumGoroutine()
	s := runSeeds(t, cfg, 4)
	for _, v := range s.Violations {
		t.Errorf("%v\n  replay: %s", v.Violation, v.Replay)
	}
	if s.Stats.Crashes == 0 {
		t.Fatalf("no validator crashed in 4 runs: the test no longer covers the databases of crashed validators")
	}
	// The runner's goroutines and those of the closed databases end on
	// their own: poll until they have.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before 4 runs (%d crashes), %d after: the runs left databases open; some of them:\n%s",
			before, s.Stats.Crashes, after, buf[:runtime.Stack(buf, true)])
	}
}
