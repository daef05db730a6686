package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bounds of the liveness checks. They are generous: the machine may be
// loaded, and a bound is a failure only when a node is really stuck.
const (
	rejoinBound = 90 * time.Second // a restarted node catches up after a fault
	finalBound  = 90 * time.Second // every node reaches the final height
)

// runScenario starts the scenario's network, drives load, applies the
// faults in order, and then verifies the network. A failure names the
// scenario and how to replay it.
func runScenario(t *testing.T, s scenario, replay string) *outcome {
	t.Helper()
	o := &outcome{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("e2e: FAILED scenario %q; replay with:\n  %s\nscenario (%d of its faults applied):\n%s", s.Name, replay, o.faults, s)
		}
	})
	n := newNetwork(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if behind := waitAll(ctx, n, 2, 90*time.Second); len(behind) > 0 {
		t.Fatalf("e2e: the network did not reach height 2: %s", strings.Join(behind, "; "))
	}
	book := newVoteBook()
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sampleCommits(sampleCtx, n, book, 300*time.Millisecond)
	}()
	// Keys are unique per run: a replay does not meet its earlier txs.
	l := newLoad(n, fmt.Sprintf("%s-%d", filepath.Base(s.Name), time.Now().UnixNano()%1e6))
	l.start()
	defer l.stop()

	start := time.Now()
	for i, f := range s.Faults {
		if s.Deadline > 0 && time.Since(start) > s.Deadline && o.faults >= s.MinFaults {
			break
		}
		time.Sleep(f.After) // a random moment: the timing is the perturbation
		if err := applyFault(t, n, s, f); err != nil {
			o.violate("fault %d (%s): %v", i, f, err)
		}
		o.faults++
		if f.NoWait && i < len(s.Faults)-1 {
			continue
		}
		// Every node, the restarted ones too, gets past the height the
		// network had when they came back: they replayed and rejoined.
		target := maxHeight(ctx, n) + 1
		if behind := waitAll(ctx, n, target, rejoinBound); len(behind) > 0 {
			o.violate("liveness: after fault %d (%s), not every node reached height %d within %v: %s",
				i, f, target, rejoinBound, strings.Join(behind, "; "))
			break
		}
	}
	l.stop()
	stopSampling()
	<-sampled
	if len(o.violations) == 0 {
		verify(ctx, n, l, book, finalBound, o)
	}
	// Stop every node cleanly, then compare every vote and proposal in
	// their WALs.
	wb := newWALBook()
	for _, p := range n.procs {
		if err := n.stop(p); err != nil {
			o.violate("clean stop at the end: %v", err)
		}
	}
	for _, p := range n.procs {
		if err := wb.addWAL(p.name, p.home); err != nil {
			o.violate("WAL: %v", err)
		}
	}
	o.walVotes, o.walProposals, o.walSlots = wb.votes, wb.proposals, len(wb.msgs)
	judgeSigning(n, append(book.violations, wb.violations...), o, t)
	t.Logf("e2e: %s: %s", s.Name, o)
	if r := l.failureReasons(); len(r) > 0 {
		t.Logf("e2e: failed RPC calls by reason (a node down refuses them):\n  %s", strings.Join(r, "\n  "))
	}
	for _, v := range o.violations {
		t.Errorf("e2e: violation: %s", v)
	}
	return o
}

// applyFault carries out one fault on all its nodes at once.
func applyFault(t *testing.T, n *network, s scenario, f fault) error {
	t.Helper()
	procs := make([]*proc, len(f.Nodes))
	for i, name := range f.Nodes {
		k, err := s.nodeIndex(name)
		if err != nil {
			return err
		}
		procs[i] = n.procs[k]
	}
	switch f.Kind {
	case faultKill:
		for _, p := range procs {
			n.kill(p)
		}
		time.Sleep(f.Down)
		for _, p := range procs {
			n.restart(p)
		}
	case faultRestart:
		var errs []string
		for _, p := range procs {
			if err := n.stop(p); err != nil {
				errs = append(errs, err.Error())
			}
		}
		for _, p := range procs {
			n.restart(p)
		}
		if len(errs) > 0 {
			return fmt.Errorf("clean stop: %s", strings.Join(errs, "; "))
		}
	case faultDisconnect:
		var errs []string
		for _, p := range procs {
			if err := disconnect(p, f.Down); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if !f.NoWait { // with nowait, the next fault finds them cut off
			time.Sleep(f.Down)
		}
		if len(errs) > 0 {
			return fmt.Errorf("disconnect: %s", strings.Join(errs, "; "))
		}
	case faultPause:
		for _, p := range procs {
			n.signal(p, syscall.SIGSTOP)
		}
		time.Sleep(f.Down)
		for _, p := range procs {
			n.signal(p, syscall.SIGCONT)
		}
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return nil
}

func replayCmd(test string, seed int64) string {
	cmd := fmt.Sprintf("go test ./test/e2e -run '^%s$' -seed %d -v", test, seed)
	if longForm() {
		cmd = "BFTNODE_LONG=1 BFTNODE_E2E_DURATION=" + os.Getenv("BFTNODE_E2E_DURATION") + " " + cmd
	}
	return cmd
}

// TestScenarioFiles runs every scenario of testdata/*.txt.
func TestScenarioFiles(t *testing.T) {
	skipShort(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := parseScenario(file, string(text))
			if err != nil {
				t.Fatal(err)
			}
			runScenario(t, s, fmt.Sprintf("go test ./test/e2e -run '^TestScenarioFiles$/^%s$' -v", t.Name()[len("TestScenarioFiles/"):]))
		})
	}
}

// TestRandomFaults applies seeded random kills, restarts, pauses and
// disconnects: in
// the short form ten faults to 4 validators and a full node; in the long
// form, for the set duration each, to 4 validators and a full node, to 7
// validators and a full node, and to 4 validators one of which is
// Byzantine (its mode drawn from the seed).
func TestRandomFaults(t *testing.T) {
	skipShort(t)
	seed := testSeed(t)
	t.Logf("e2e: seed %d", seed)
	if !longForm() {
		runScenario(t, randomScenario("random-4v", seed, 4, 1, 10), replayCmd("TestRandomFaults", seed))
		return
	}
	d := longDuration(t)
	for _, vals := range []int{4, 7} {
		t.Run(fmt.Sprintf("%dv", vals), func(t *testing.T) {
			s := randomScenario(fmt.Sprintf("random-%dv", vals), seed, vals, 1, int(d/time.Second)+1)
			s.Deadline = d
			runScenario(t, s, replayCmd("TestRandomFaults", seed))
		})
	}
	// Crash faults next to a Byzantine validator: safety holds with up to
	// f Byzantine validators whatever the crashes; liveness returns when
	// the crashed nodes do.
	t.Run("4v-byzantine", func(t *testing.T) {
		s := randomScenario("random-4v-byzantine", seed, 4, 1, int(d/time.Second)+1)
		s.Deadline = d
		s.Byzantine = map[string]string{
			fmt.Sprintf("node%d", uint64(seed)%4): byzantineModes[(uint64(seed)/4)%uint64(len(byzantineModes))],
		}
		runScenario(t, s, replayCmd("TestRandomFaults", seed))
	})
}

// TestCrashKill9 SIGKILLs one validator at random moments under load, at
// least 10 times (short form) or 50 times and for the set duration (long
// form); each time it restarts, replays its WAL and rejoins.
func TestCrashKill9(t *testing.T) {
	skipShort(t)
	seed := testSeed(t)
	t.Logf("e2e: seed %d", seed)
	count := 10
	var deadline time.Duration
	if longForm() {
		d := longDuration(t)
		count = max(50, int(d/(3*time.Second)))
		deadline = d
	}
	s := crashScenario("kill9-4v", seed, 4, count)
	s.Deadline, s.MinFaults = deadline, min(count, 50)
	o := runScenario(t, s, replayCmd("TestCrashKill9", seed))
	if want := min(count, 50); !t.Failed() && o.faults < want {
		t.Errorf("e2e: only %d kills applied, want at least %d (raise BFTNODE_E2E_DURATION)", o.faults, want)
	}
}
