package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// The harness's own logic, checked without processes (these run under
// -short too).

func TestParseScenario(t *testing.T) {
	s, err := parseScenario("t", `# comment
validators 7
full 2
kill node1,full1 after=250ms down=2s # trailing comment
restart node6
pause full0 down=1s nowait
disconnect node2,node3 1m30s after=1s
`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Validators != 7 || s.FullNodes != 2 || len(s.Faults) != 4 {
		t.Fatalf("got %+v", s)
	}
	if f := s.Faults[0]; f.Kind != faultKill || strings.Join(f.Nodes, ",") != "node1,full1" || f.After != 250*time.Millisecond || f.Down != 2*time.Second {
		t.Fatalf("fault 0: %+v", f)
	}
	if f := s.Faults[3]; f.Kind != faultDisconnect || strings.Join(f.Nodes, ",") != "node2,node3" || f.Down != 90*time.Second || f.After != time.Second {
		t.Fatalf("fault 3: %+v", f)
	}
	if !s.Faults[2].NoWait || s.Faults[0].NoWait {
		t.Fatalf("nowait: %+v", s.Faults)
	}
	if k, err := s.nodeIndex("full1"); err != nil || k != 8 {
		t.Fatalf("full1 → %d, %v; want 8", k, err)
	}
	// String renders what parseScenario reads back.
	again, err := parseScenario("t", s.String())
	if err != nil || again.String() != s.String() {
		t.Fatalf("round trip: %v\n%s\n%s", err, s, again)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	for _, text := range []string{
		"validators x",
		"validators 0",
		"full -1",
		"kill",
		"kill node9",       // only 4 validators
		"kill full0",       // no full nodes
		"kill bob",         // not a node name
		"kill node1 after", // no value
		"kill node1 after=soon",
		"kill node1 later=1s",
		"explode node1",
		"disconnect node1 0s",   // nothing to cut
		"disconnect node1 11m",  // beyond rpc.MaxDisconnect
		"disconnect node1 -1s",  // negative
		"disconnect node1 soon", // not a duration
	} {
		if _, err := parseScenario("t", text); !errors.Is(err, errScenario) {
			t.Errorf("%q: got %v, want errScenario", text, err)
		}
	}
}

func TestRandomScenarioRespectsFaultBound(t *testing.T) {
	for _, vals := range []int{4, 7} {
		s := randomScenario("r", 42, vals, 1, 200)
		if again := randomScenario("r", 42, vals, 1, 200); again.String() != s.String() {
			t.Fatal("the same seed drew different scenarios")
		}
		for _, f := range s.Faults {
			validators := 0
			for _, n := range f.Nodes {
				if _, err := s.nodeIndex(n); err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(n, "node") {
					validators++
				}
			}
			if validators < 1 || validators > max(1, (vals-1)/3) {
				t.Fatalf("%d validators: fault %s hits %d validators", vals, f, validators)
			}
		}
	}
	c := crashScenario("c", 7, 4, 50)
	if len(c.Faults) != 50 {
		t.Fatalf("%d kills, want 50", len(c.Faults))
	}
	for _, f := range c.Faults {
		if f.Kind != faultKill || len(f.Nodes) != 1 || f.Nodes[0] != c.Faults[0].Nodes[0] {
			t.Fatalf("crash scenario fault %s: want kills of one validator", f)
		}
	}
}

func commit(height string, round int32, hash string, sigs ...commitSigJSON) *commitJSON {
	return &commitJSON{Height: height, Round: round, BlockID: blockIDJSON{Hash: hash, Parts: partsJSON{Total: 1, Hash: "P" + hash}}, Signatures: sigs}
}

func TestVoteBook(t *testing.T) {
	commitBy := func(val, sig string) commitSigJSON {
		return commitSigJSON{BlockIDFlag: flagCommit, ValidatorAddress: val, Signature: []byte(sig)}
	}
	nilBy := func(val, sig string) commitSigJSON {
		return commitSigJSON{BlockIDFlag: flagNil, ValidatorAddress: val, Signature: []byte(sig)}
	}
	absent := commitSigJSON{BlockIDFlag: flagAbsent}

	b := newVoteBook()
	b.add(commit("5", 0, "AA", commitBy("V1", "s1"), nilBy("V2", "s2"), absent), "n0")
	b.add(commit("5", 0, "AA", commitBy("V1", "s1"), nilBy("V2", "s2")), "n1") // the same votes again
	b.add(commit("5", 1, "BB", commitBy("V1", "s3")), "n1")                    // another round
	b.add(commit("0", 0, ""), "genesis")                                       // the first block's empty commit
	if len(b.violations) != 0 || len(b.votes) != 3 || b.commits != 3 {
		t.Fatalf("honest votes: violations %v, %d votes, %d commits", b.violations, len(b.votes), b.commits)
	}
	b.add(commit("5", 0, "CC", commitBy("V1", "s4")), "n2") // V1: AA and CC in one round
	b.add(commit("5", 0, "AA", commitBy("V2", "s5")), "n3") // V2: nil and AA in one round
	b.add(commit("5", 1, "BB", commitBy("V1", "s6")), "n3") // V1: BB signed twice
	if len(b.violations) != 3 {
		t.Fatalf("want 3 violations, got %q", b.violations)
	}
	for i, want := range []string{"double sign: validator V1", "double sign: validator V2", "signed twice: validator V1"} {
		if !strings.HasPrefix(b.violations[i].msg, want) {
			t.Errorf("violation %d = %q, want prefix %q", i, b.violations[i].msg, want)
		}
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var lines []string
	for i := range 120 {
		lines = append(lines, strings.Repeat("x", i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := tail(path, 50), strings.Join(lines[70:], "\n"); got != want {
		t.Fatalf("tail: got %d bytes, want %d", len(got), len(want))
	}
}

func TestWALBook(t *testing.T) {
	b := newWALBook()
	vote := signKey{height: 3, round: 1, typ: types.PrevoteType, val: "V1"}
	prop := signKey{height: 3, round: 1}
	b.note(vote, signed{what: "A", sig: "s1", where: "n0"})
	b.note(vote, signed{what: "A", sig: "s1", where: "n1"}) // the same vote, received by another node
	b.note(prop, signed{what: "A pol -1", sig: "p1", where: "n0"})
	b.note(signKey{height: 3, round: 1, typ: types.PrecommitType, val: "V1"}, signed{what: "nil", sig: "s2", where: "n0"})
	if len(b.violations) != 0 {
		t.Fatalf("honest messages: %q", b.violations)
	}
	b.note(vote, signed{what: "B", sig: "s3", where: "n2"})
	b.note(prop, signed{what: "A pol 0", sig: "p2", where: "n2"})
	b.note(vote, signed{what: "A", sig: "s4", where: "n3"})
	if len(b.violations) != 3 {
		t.Fatalf("want 3 violations, got %q", b.violations)
	}
	for i, want := range []string{"double sign: vote type", "double sign: proposal", "signed twice: vote type"} {
		if !strings.HasPrefix(b.violations[i].msg, want) {
			t.Errorf("violation %d = %q, want prefix %q", i, b.violations[i].msg, want)
		}
	}
}

func TestCheckChain(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(h int, prev string, signers int, at time.Time) *blockJSON {
		b := &blockJSON{BlockID: blockIDJSON{Hash: fmt.Sprintf("B%d", h)}}
		b.Block.Header.LastBlockID = blockIDJSON{Hash: prev}
		b.Block.Header.Time = at
		b.Block.LastCommit = commitJSON{Height: strconv.Itoa(h - 1), BlockID: blockIDJSON{Hash: prev}}
		// Votes dated around the block time, in reverse order, so that with
		// 3 or 4 signers of power 10 the median is the block time.
		for i := signers - 1; i >= 0; i-- {
			ts := at.Add(time.Duration(i-1) * 100 * time.Millisecond)
			b.Block.LastCommit.Signatures = append(b.Block.LastCommit.Signatures, commitSigJSON{BlockIDFlag: flagCommit, Timestamp: ts})
		}
		return b
	}
	offMedian := mk(3, "B2", 4, t0.Add(2*time.Second))
	offMedian.Block.Header.Time = offMedian.Block.Header.Time.Add(time.Millisecond)
	good := []*blockJSON{nil, mk(1, "", 0, t0), mk(2, "B1", 3, t0.Add(time.Second)), mk(3, "B2", 4, t0.Add(2*time.Second))}
	o := &outcome{}
	checkChain(good, 4, o)
	if len(o.violations) != 0 {
		t.Fatalf("a good chain: %q", o.violations)
	}
	for name, bad := range map[string]*blockJSON{
		"wrong last block": mk(3, "X", 4, t0.Add(2*time.Second)),
		"two of four":      mk(3, "B2", 2, t0.Add(2*time.Second)),
		"same time":        mk(3, "B2", 4, t0.Add(time.Second)),
		"off the median":   offMedian,
	} {
		chain := append(good[:3:3], bad)
		o := &outcome{}
		checkChain(chain, 4, o)
		if len(o.violations) != 1 {
			t.Errorf("%s: violations %q, want one", name, o.violations)
		}
	}
}

func TestMedianTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) commitJSON {
		var c commitJSON
		for _, m := range ms {
			c.Signatures = append(c.Signatures, commitSigJSON{BlockIDFlag: flagCommit, Timestamp: t0.Add(time.Duration(m) * time.Millisecond)})
		}
		c.Signatures = append(c.Signatures, commitSigJSON{BlockIDFlag: flagNil, Timestamp: t0.Add(time.Hour)}, commitSigJSON{BlockIDFlag: flagAbsent})
		return c
	}
	// Power 10 each: half of the committed power, rounded down, is reached
	// at the second of 3 or 4 votes and at the first of 2.
	for _, tc := range []struct {
		c    commitJSON
		want int
	}{{at(30, 10, 20), 20}, {at(40, 30, 20, 10), 20}, {at(20, 10), 10}, {at(5), 5}} {
		if got := medianTime(tc.c); !got.Equal(t0.Add(time.Duration(tc.want) * time.Millisecond)) {
			t.Errorf("median of %+v = %v, want +%d ms", tc.c.Signatures, got, tc.want)
		}
	}
}

func TestCheckFutureTime(t *testing.T) {
	n := &network{procs: []*proc{
		{name: "node0", address: "a0", validator: true},
		{name: "node2", address: "a2", validator: true, byzantine: "futuretime"},
	}}
	mk := func(proposer string, at time.Time) *blockJSON {
		b := &blockJSON{}
		b.Block.Header.Proposer, b.Block.Header.Time = proposer, at
		return b
	}
	now := time.Now()
	o := &outcome{}
	checkFutureTime(n, []*blockJSON{nil, mk("A0", now.Add(-time.Second)), mk("A0", now)}, o)
	if len(o.violations) != 0 {
		t.Fatalf("honest blocks: %q", o.violations)
	}
	checkFutureTime(n, []*blockJSON{nil, mk("A2", now), mk("A0", now.Add(time.Hour))}, o)
	if len(o.violations) != 2 || !strings.Contains(o.violations[0], "node2") {
		t.Fatalf("a futuretime proposal and a block an hour ahead: %q", o.violations)
	}
}

func TestCheckEvidence(t *testing.T) {
	n := &network{procs: []*proc{
		{name: "node0", address: "a0", validator: true},
		{name: "node1", address: "a1", validator: true, byzantine: "doublevote"},
	}}
	// chain is blocks 1..top, the last holding evidence of votes at height
	// votes against addr.
	chain := func(top int, addr, votes string) []*blockJSON {
		ref := make([]*blockJSON, top+1)
		for h := range ref {
			ref[h] = &blockJSON{}
		}
		ev := evidenceJSON{Type: "tendermint/DuplicateVoteEvidence"}
		ev.Value.VoteA.ValidatorAddress, ev.Value.VoteA.Height = addr, votes
		ref[top].Block.Evidence.Evidence = []evidenceJSON{ev}
		return ref
	}
	o := &outcome{}
	if got := checkEvidence(n, chain(12, "A1", "2"), o); len(o.violations) != 0 || got["A1"] != (accusation{block: 12, votes: 2}) {
		t.Fatalf("evidence against the double voter 10 heights later: %q, accused %v", o.violations, got)
	}
	o = &outcome{}
	checkEvidence(n, chain(13, "A1", "2"), o)
	if len(o.violations) != 1 || !strings.Contains(o.violations[0], "more than 10 heights after") {
		t.Fatalf("evidence 11 heights late: violations %q", o.violations)
	}
	o = &outcome{}
	checkEvidence(n, chain(2, "A0", "1"), o)
	// The honest validator accused, and the double voter not.
	if len(o.violations) != 2 {
		t.Fatalf("violations %q, want 2", o.violations)
	}
}

func TestJudgeSigning(t *testing.T) {
	n := &network{procs: []*proc{
		{name: "node0", address: "A0", validator: true},
		{name: "node1", address: "A1", validator: true, byzantine: "doublevote"},
	}}
	o := &outcome{}
	judgeSigning(n, []signViolation{{"A1", "by the double voter"}, {"A1", "again"}}, o, t)
	if o.byzantine != 2 || len(o.violations) != 0 {
		t.Fatalf("expected double signing: %d caught, violations %q", o.byzantine, o.violations)
	}
	o = &outcome{}
	judgeSigning(n, []signViolation{{"A0", "by an honest validator"}, {"", "a conflicting proposal"}}, o, t)
	// Both are violations (there is no equivocator to blame the proposal
	// on), and so is the double voter that nothing caught.
	if len(o.violations) != 3 {
		t.Fatalf("violations %q, want 3", o.violations)
	}
}
