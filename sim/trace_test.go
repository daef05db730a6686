package sim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/sim"
)

// traceLine is a line of a trace, as trace.go documents them: the header's
// fields and the records' that the tests read.
type traceLine struct {
	K          string  `json:"k"`
	N          int     `json:"n"`
	H          int64   `json:"h"`
	R          int32   `json:"r"`
	T          string  `json:"t"`
	B          *string `json:"b"`
	Validators []struct {
		Behaviour string `json:"behaviour"`
	} `json:"validators"`
}

// TestTraceRecordsTheRunUnchanged traces a run beyond f (two of four
// validators equivocate) and checks that the trace holds what the checker
// saw, and that tracing changes nothing in the run.
func TestTraceRecordsTheRunUnchanged(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Heights, cfg.Seed, cfg.Crashes = 8, 1, 1
	cfg = withByzantine(t, cfg, 2, "equivocate")
	plain, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	cfg.Trace = &buf
	traced, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	plain.Config, traced.Config = sim.Config{}, sim.Config{}
	if !reflect.DeepEqual(plain, traced) {
		t.Fatalf("tracing changed the run:\nwithout %+v\nwith    %+v", plain, traced)
	}

	kinds := map[string]int{}
	decided := map[int64]map[string]bool{} // height → decided block hashes
	decidedBy := map[[2]int64]bool{}       // {validator, height} with a decision
	votes := map[string]map[string]bool{}  // validator/height/round/type → blocks
	var header traceLine
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		if i == 0 {
			if err := json.Unmarshal(sc.Bytes(), &header); err != nil || header.K != "header" {
				t.Fatalf("first line %q is not the header (%v)", sc.Text(), err)
			}
			continue
		}
		var r traceLine
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		kinds[r.K]++
		switch r.K {
		case "decide":
			if decided[r.H] == nil {
				decided[r.H] = map[string]bool{}
			}
			decided[r.H][*r.B] = true
			decidedBy[[2]int64{int64(r.N), r.H}] = true
		case "vote":
			k := fmt.Sprintf("%d/%d/%d/%s", r.N, r.H, r.R, r.T)
			if votes[k] == nil {
				votes[k] = map[string]bool{}
			}
			votes[k][*r.B] = true
		}
	}
	if len(header.Validators) != 4 || header.Validators[2].Behaviour != "equivocate" || header.Validators[0].Behaviour != "" {
		t.Fatalf("header validators %+v", header.Validators)
	}
	for _, k := range []string{"step", "vote", "proposal", "lock", "decide", "partition", "crash", "restart"} {
		if kinds[k] == 0 {
			t.Errorf("no %s record in the trace (%v)", k, kinds)
		}
	}
	// Every correct validator's decisions are there, those it caught up
	// with a peer's commit too.
	for n := range int64(2) {
		for h := int64(1); h <= traced.HeightsDecided; h++ {
			if !decidedBy[[2]int64{n, h}] {
				t.Errorf("the trace has no decision of validator %d at height %d (every correct one decided %d heights)", n, h, traced.HeightsDecided)
			}
		}
	}
	forks := 0
	for _, v := range traced.Violations {
		if v.Kind != sim.ViolationAgreement {
			continue
		}
		forks++
		if len(decided[v.Height]) != 2 {
			t.Errorf("%v: the trace has %d blocks decided at height %d, want 2", v, len(decided[v.Height]), v.Height)
		}
		for b := range decided[v.Height] {
			if !strings.Contains(v.Detail, b[:12]) {
				t.Errorf("%v: the trace's decision %s is not one the checker reported", v, b)
			}
		}
	}
	if forks == 0 {
		t.Fatalf("seed %d made no agreement violation to trace: %v", cfg.Seed, traced.Violations)
	}
	double := 0
	for k, blocks := range votes {
		if len(blocks) > 1 {
			if n := k[:1]; n != "2" && n != "3" {
				t.Errorf("correct validator %s signed conflicting votes %s: %v", n, k, blocks)
			}
			double++
		}
	}
	if double == 0 {
		t.Error("the trace shows no conflicting votes of the equivocating validators")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestTraceWriteError reports a trace that cannot be written.
func TestTraceWriteError(t *testing.T) {
	cfg := sim.DefaultConfig()
	cfg.Heights, cfg.Trace = 2, failWriter{}
	if _, err := sim.Run(cfg); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Run with a failing trace writer: %v", err)
	}
}
