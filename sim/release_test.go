package sim

import (
	"runtime"
	"testing"
	"time"
)

// TestRunsLeaveNothingRunning: a run closes every database its validators
// opened (the block stores, evidence pools and applications, each a Pebble
// instance with goroutines and memory of its own), those of validators
// that crashed included, so that thousands of seeds in one process
// (`bftnode sim --seeds 10000`) run as fast as the first.
func TestRunsLeaveNothingRunning(t *testing.T) {
	cfg := byzantineConfig(DefaultConfig())
	cfg.Byzantine, cfg.Behaviour, cfg.Crashes, cfg.Heights, cfg.GST = 1, Mix, 4, 3, 2*time.Second
	before := runtime.NumGoroutine()
	var crashes uint64
	for seed := uint64(1); seed <= 4; seed++ {
		cfg.Seed = seed
		r, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range r.Violations {
			t.Errorf("seed %d: %v", seed, v)
		}
		crashes += r.Stats.Crashes
	}
	if crashes == 0 {
		t.Fatalf("no validator crashed in 4 runs: the test no longer covers the databases of crashed validators")
	}
	// Closing a database stops its goroutines; allow the runtime a moment
	// to retire them.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before 4 runs (%d crashes), %d after: the runs left databases open; some of them:\n%s",
			before, crashes, after, buf[:runtime.Stack(buf, true)])
	}
}
