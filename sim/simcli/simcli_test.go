package simcli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/internal/byzantine/simmodes"
	"github.com/bftnode/bftnode/sim"
	"github.com/bftnode/bftnode/sim/simcli"
)

// bftnodeSim is the bftnode-sim binary's extension of the command.
var bftnodeSim = simmodes.Extension()

type result struct {
	err            error
	stdout, stderr string
}

// runSim runs the command line args of the sim command extended by ext.
func runSim(t *testing.T, ext *simcli.Extension, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := simcli.Command(&out, &errb, ext)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.ExecuteContext(context.Background())
	return result{err: err, stdout: out.String(), stderr: errb.String()}
}

func TestSimCorrectRunPasses(t *testing.T) {
	r := runSim(t, nil, "--validators", "4", "--seeds", "3", "--heights", "3")
	if r.err != nil {
		t.Fatalf("%v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	for _, want := range []string{"runs:                3 (seeds 1..3)", "heights decided:     9 of 9", "rounds per height:", "messages per height:", "violations:          none"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "sim: 3/3 runs") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
}

// TestBftnodeSimHasNoByzantineFlag: without an extension (bftnode sim)
// there is no --byzantine flag, and the help says where the behaviours are.
func TestBftnodeSimHasNoByzantineFlag(t *testing.T) {
	r := runSim(t, nil, "--byzantine", "1", "--behaviour", "equivocate")
	if r.err == nil || !strings.Contains(r.err.Error(), "unknown flag: --byzantine") {
		t.Fatalf("err = %v", r.err)
	}
	if h := simcli.Command(nil, nil, nil).Long; !strings.Contains(h, "bftnode-sim") {
		t.Fatalf("the help does not say where the Byzantine behaviours are:\n%s", h)
	}
}

// Two equivocating validators out of four are beyond the f < n/3 the
// algorithm tolerates, so the simulator must find agreement violations and
// the command must fail with simcli.ErrViolations and a replay command.
func TestSimBeyondFaultThresholdExitsNonZero(t *testing.T) {
	r := runSim(t, bftnodeSim, "--validators", "4", "--byzantine", "2", "--behaviour", "equivocate", "--seeds", "20", "--heights", "5", "--quiet")
	if !errors.Is(r.err, simcli.ErrViolations) {
		t.Fatalf("err %v, want simcli.ErrViolations\n%s", r.err, r.stdout)
	}
	if !strings.Contains(r.stdout, "agreement at height") {
		t.Fatalf("no agreement violation reported:\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("--quiet printed to stderr: %q", r.stderr)
	}

	// The first violation's replay command reproduces it.
	var replay, first string
	for _, line := range strings.Split(r.stdout, "\n") {
		if i := strings.Index(line, "replay with: bftnode-sim "); i >= 0 && replay == "" {
			replay = line[i+len("replay with: bftnode-sim "):]
			continue
		}
		if replay != "" && first == "" {
			first = strings.TrimSpace(line)
		}
	}
	if replay == "" {
		t.Fatalf("no replay command:\n%s", r.stdout)
	}
	again := runSim(t, bftnodeSim, append(strings.Fields(replay), "--json")...)
	if !errors.Is(again.err, simcli.ErrViolations) {
		t.Fatalf("replay %q: %v", replay, again.err)
	}
	var s sim.Summary
	if err := json.Unmarshal([]byte(again.stdout), &s); err != nil {
		t.Fatalf("--json output: %v\n%s", err, again.stdout)
	}
	if s.Runs != 1 || len(s.Violations) == 0 || s.Violations[0].String() != first {
		t.Fatalf("replay found %v, want first %q", s.Violations, first)
	}
}

func TestSimBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--behaviour", "sneaky"},
		{"--gst", "soon"},
		{"--seeds", "0"},
		{"--validators", "0"},
		{"--byzantine", "1"}, // no behaviour
		{"--byzantine", "5", "--behaviour", "silent"},
		{"--byzantine", "1", "--behaviour", "mix:equivocate,sneaky"},
		{"--byzantine", "1", "--behaviour", "equivocate,silent"}, // a list without mix:
	} {
		r := runSim(t, bftnodeSim, append([]string{"--heights", "1"}, args...)...)
		if r.err == nil || errors.Is(r.err, simcli.ErrViolations) {
			t.Errorf("sim %v: err %v", args, r.err)
		}
	}
}

func TestSimOutputDoesNotDependOnWorkers(t *testing.T) {
	args := []string{"--validators", "4", "--byzantine", "1", "--behaviour", "mix", "--seeds", "8", "--heights", "3", "--json", "--quiet"}
	var prev *sim.Summary
	for _, w := range []string{"1", "3"} {
		r := runSim(t, bftnodeSim, append(args, "--workers", w)...)
		if r.err != nil {
			t.Fatalf("workers %s: %v: %s%s", w, r.err, r.stdout, r.stderr)
		}
		var s sim.Summary
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatal(err)
		}
		s.Wall = 0
		if prev != nil && !reflect.DeepEqual(*prev, s) {
			t.Fatalf("summary differs with --workers %s:\n%+v\n%+v", w, *prev, s)
		}
		prev = &s
	}
}
