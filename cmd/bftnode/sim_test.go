package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/sim"
)

func TestSimCorrectRunPasses(t *testing.T) {
	r := runCLI(t, nil, "sim", "--validators", "4", "--seeds", "3", "--heights", "3")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
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

// Two equivocating validators out of four are beyond the f < n/3 the
// algorithm tolerates, so the simulator must find agreement violations and
// the command must exit non-zero with a replay command.
func TestSimBeyondFaultThresholdExitsNonZero(t *testing.T) {
	r := runCLI(t, nil, "sim", "--validators", "4", "--byzantine", "2", "--behaviour", "equivocate", "--seeds", "20", "--heights", "5", "--quiet")
	if r.code != exitViolations {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitViolations, r.stdout)
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
		if i := strings.Index(line, "replay with: bftnode "); i >= 0 && replay == "" {
			replay = line[i+len("replay with: bftnode "):]
			continue
		}
		if replay != "" && first == "" {
			first = strings.TrimSpace(line)
		}
	}
	if replay == "" {
		t.Fatalf("no replay command:\n%s", r.stdout)
	}
	again := runCLI(t, nil, append(strings.Fields(replay), "--json")...)
	if again.code != exitViolations {
		t.Fatalf("replay %q: exit %d", replay, again.code)
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
	} {
		r := runCLI(t, nil, append([]string{"sim", "--heights", "1"}, args...)...)
		if r.code != exitError || !strings.Contains(r.stderr, "Error:") {
			t.Errorf("sim %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestSimOutputDoesNotDependOnWorkers(t *testing.T) {
	args := []string{"sim", "--validators", "4", "--byzantine", "1", "--behaviour", "mix", "--seeds", "8", "--heights", "3", "--json", "--quiet"}
	var prev *sim.Summary
	for _, w := range []string{"1", "3"} {
		r := runCLI(t, nil, append(args, "--workers", w)...)
		if r.code != exitOK {
			t.Fatalf("workers %s: exit %d: %s%s", w, r.code, r.stdout, r.stderr)
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
