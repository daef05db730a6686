package query

import (
	"errors"
	"testing"
)

func TestQueryMatches(t *testing.T) {
	attrs := map[string][]string{
		"tm.event":        {"Tx"},
		"tx.height":       {"12"},
		"transfer.key":    {"alice", "bob"},
		"transfer.amount": {"2.5"},
		"big.n":           {"9007199254740993"},
		"vote.time":       {"2026-11-27T09:00:01.5Z"},
		"vote.day":        {"2026-11-27"},
	}
	tests := []struct {
		q    string
		want bool
	}{
		{"", true},
		{"tm.event='Tx'", true},
		{"tm.event = 'NewBlock'", false},
		{"tm.event='Tx' AND transfer.key='bob'", true},
		{"tm.event='Tx' and transfer.key='carol'", false},
		{"tx.height=12", true},
		{"tx.height='12'", true},
		{"tx.height>11 AND tx.height<13", true},
		{"tx.height>=12 AND tx.height<=12", true},
		{"tx.height>12", false},
		{"tx.height<12", false},
		{"transfer.amount>2", true},
		{"transfer.amount<2.5", false},
		{"transfer.key CONTAINS 'li'", true},
		{"transfer.key CONTAINS 'zz'", false},
		{"transfer.key EXISTS", true},
		{"transfer.other EXISTS", false},
		{"big.n=9007199254740993", true},
		{"big.n=9007199254740992", false},
		{"transfer.key>5", false}, // not numbers
		{"tm.event='Tx' AND tx.height=12 AND transfer.key EXISTS", true},
		{"vote.time > TIME 2026-11-27T09:00:01Z", true},
		{"vote.time >= TIME 2026-11-27T09:00:02Z", false},
		{"vote.day = DATE 2026-11-27", true},
		{"vote.time < DATE 2026-11-28 AND vote.time > DATE 2026-11-27", true},
		{"transfer.key < TIME 2026-11-27T09:00:01Z", false}, // not a time
	}
	for _, tc := range tests {
		q, err := Parse(tc.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.q, err)
		}
		if got := q.Matches(attrs); got != tc.want {
			t.Errorf("%q matches = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestQueryParseErrors(t *testing.T) {
	for _, s := range []string{
		"tm.event",
		"tm.event=",
		"tm.event='Tx",
		"tm.event=='Tx'",
		"='Tx'",
		"tm.event='Tx' OR a=1",
		"tm.event='Tx' AND",
		"a CONTAINS 5",
		"a=abc",
		"a=1 b=2",
		"a!=1",
		"a=1e",
		"a > TIME yesterday",
		"a = DATE 2026-13-01",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
	long := "a=1"
	for range MaxConditions {
		long += " AND a=1"
	}
	if _, err := Parse(long); !errors.Is(err, ErrInvalid) {
		t.Errorf("too many conditions: %v", err)
	}
	q, err := Parse("  transfer.key = 'x y' AND n >= -3.5 ")
	if err != nil {
		t.Fatal(err)
	}
	cs := q.Conditions()
	if len(cs) != 2 || cs[0] != (Condition{Key: "transfer.key", Op: OpEqual, Operand: "x y"}) ||
		cs[1].Key != "n" || cs[1].Op != OpGreaterEqual || cs[1].Operand != "-3.5" || !cs[1].Number {
		t.Errorf("conditions %+v", cs)
	}
	if q.String() != "transfer.key = 'x y' AND n >= -3.5" {
		t.Errorf("String() = %q", q.String())
	}
}

func TestQueryMayMatchEvent(t *testing.T) {
	for src, want := range map[string]bool{
		"":                                      true,
		"tm.event = 'Tx'":                       true,
		"tm.event = 'NewBlock'":                 false,
		"tm.event = 'NewBlock' AND app.k = 'v'": false,
		"app.key = 'x'":                         true,
		"tm.event CONTAINS 'T'":                 true,
	} {
		q, err := Parse(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := q.MayMatchEvent("Tx"); got != want {
			t.Errorf("%q: MayMatchEvent(Tx) = %v, want %v", src, got, want)
		}
	}
}
