package interop

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// equivocateArgs are bftnode-sim's flags of the simulated run beyond f: two
// of four validators equivocate, which the protocol does not survive.
var equivocateArgs = []string{"--validators", "4", "--byzantine", "2", "--behaviour", "equivocate"}

// simViolation is one violation of `bftnode-sim --json`.
type simViolation struct {
	Kind   string `json:"kind"`
	Height int64  `json:"height"`
	Detail string `json:"detail"`
	Seed   uint64 `json:"seed"`
}

// decidedRE reads the two conflicting decisions of an agreement violation.
var decidedRE = regexp.MustCompile(`validator (\d+) decided ([0-9A-F]+) in round \d+, validator (\d+) decided ([0-9A-F]+) in round \d+`)

// firstFork runs the simulator (bftnode-sim, at simBin) over seeds 1…20
// and returns the first violating seed's first agreement violation, as the
// simulator reports it.
func firstFork(t *testing.T, simBin string) simViolation {
	t.Helper()
	cmd := exec.Command(simBin, append(slices.Clone(equivocateArgs), "--seeds", "20", "--json", "--quiet")...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 2) {
		t.Fatalf("bftnode-sim: %v", err)
	}
	var sum struct {
		Violations []simViolation `json:"violations"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("bftnode-sim --json: %v\n%s", err, out)
	}
	if len(sum.Violations) == 0 {
		t.Fatal("2 equivocating validators of 4 made no violation in 20 seeds")
	}
	seed := sum.Violations[0].Seed
	for _, v := range sum.Violations {
		if v.Seed == seed && v.Kind == "agreement" {
			return v
		}
	}
	t.Fatalf("the first violating seed %d has no agreement violation: %+v", seed, sum.Violations[0])
	return simViolation{}
}

// TestUIPlaysSimulatedFork writes the trace of the first violating seed of
// `bftnode-sim --validators 4 --byzantine 2 --behaviour equivocate` (the
// development binary with the Byzantine behaviours), serves
// it with `bftnode ui`, and opens it in headless Chromium: at the end of
// the run the page shows the fork at the height and with the two blocks the
// simulator's agreement check reported; at the start, no fork.
func TestUIPlaysSimulatedFork(t *testing.T) {
	simBin := bftnodeSimBin(t)
	v := firstFork(t, simBin)
	m := decidedRE.FindStringSubmatch(v.Detail)
	if m == nil {
		t.Fatalf("cannot read the decisions of %q", v.Detail)
	}
	want := []string{m[2], m[4]}
	trace := filepath.Join(t.TempDir(), "fork.jsonl")
	// Exit status 2: the run has violations, as it should.
	out, err := exec.Command(simBin, append(slices.Clone(equivocateArgs), "--seed", strconv.FormatUint(v.Seed, 10), "--trace", trace)...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 2) {
		t.Fatalf("bftnode-sim --trace: %v\n%s", err, out)
	}
	url := serveTrace(t, trace)

	ctx := newBrowser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	type forkView struct {
		Hidden bool
		Height string
		Blocks []string
		Max    string
	}
	const forkJS = `(() => { const f = document.getElementById('fork');
	  return {hidden: f.hidden, height: f.dataset.height || '', max: document.getElementById('slider').max,
	    blocks: [...f.querySelectorAll('.decided')].map(e => e.dataset.block)}; })()`
	var fv forkView
	poll(t, "the page to show the fork", time.Minute, func() (bool, error) {
		if err := pageEval(ctx, forkJS, &fv); err != nil {
			return false, err
		}
		return !fv.Hidden, nil
	})
	if fv.Height != strconv.FormatInt(v.Height, 10) {
		t.Errorf("the page shows the fork at height %s; the simulator reported it at %d (%s)", fv.Height, v.Height, v.Detail)
	}
	if len(fv.Blocks) != 2 {
		t.Fatalf("the page shows %d decided blocks at the fork, want 2: %v", len(fv.Blocks), fv.Blocks)
	}
	for _, w := range want {
		if !slices.ContainsFunc(fv.Blocks, func(b string) bool { return strings.HasPrefix(b, w) }) {
			t.Errorf("the page's fork shows blocks %v; the simulator reported %s decided (%s)", fv.Blocks, w, v.Detail)
		}
	}
	screenshot(t, ctx, "ui-simulated-fork.png")
	// Back to the start of the run, nothing is decided yet.
	if err := pageEval(ctx, `(() => { const s = document.getElementById('slider'); s.value = 0; s.dispatchEvent(new Event('input')); return true; })()`, new(bool)); err != nil {
		t.Fatal(err)
	}
	if err := pageEval(ctx, forkJS, &fv); err != nil {
		t.Fatal(err)
	}
	if !fv.Hidden {
		t.Errorf("at the start of the run (slider at 0) the page still shows a fork at height %s", fv.Height)
	}
	t.Logf("seed %d: the page shows the fork at height %d between %s and %s", v.Seed, v.Height, want[0], want[1])
}

// serveTrace runs `bftnode ui FILE` for the test and returns the page's URL.
func serveTrace(t *testing.T, trace string) string {
	t.Helper()
	cmd := exec.Command(bftnodeBin, "ui", trace)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("bftnode ui: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("bftnode ui printed no URL: %v", err)
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("bftnode ui printed %q, want a URL", line)
	}
	return strings.Fields(line[i:])[0]
}
