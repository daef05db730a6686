package consensus

import (
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// TestSignVoteAfter: a vote names the block whose time its timestamp must
// exceed (BFT time): the locked block, else the round's proposal, else
// none; its timestamp is the event's time, for the engine to adjust.
func TestSignVoteAfter(t *testing.T) {
	a, b := blockID("A"), blockID("B")
	only := func(t *testing.T, acts []Action) SignVote {
		t.Helper()
		vs := actionsOf[SignVote](acts)
		if len(vs) != 1 {
			t.Fatalf("want one SignVote, got %+v", vs)
		}
		return vs[0]
	}
	tests := []struct {
		name      string
		run       func(t *testing.T, f *fixture) []Action
		wantAfter types.BlockID
	}{
		{"no proposal: none", func(t *testing.T, f *fixture) []Action {
			return f.timeout(0, StepPropose)
		}, nilID},
		{"an invalid proposal: its block, though the vote is nil", func(t *testing.T, f *fixture) []Action {
			f.propose(0, -1, a)
			return f.block(a, false)
		}, a},
		{"a precommit for the block it locks", func(t *testing.T, f *fixture) []Action {
			acts := f.propose(0, -1, a)
			acts = append(acts, f.block(a, true)...)
			wantVote(t, acts, types.PrevoteType, 0, a)
			return f.prevotes(0, a, f.others(3)...)
		}, a},
		{"locked: the locked block, not the round's proposal", func(t *testing.T, f *fixture) []Action {
			f.lockOn(0, a, f.others(3)...)
			f.timeout(0, StepPrecommit)
			f.propose(1, -1, b)
			return f.prevotes(1, nilID, f.others(3)...)
		}, a},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newFixture(t, nonProposerIndex(t, []int32{0, 1}, four...), four...)
			f.now = f.now.Add(3 * time.Second)
			sv := only(t, tc.run(t, f))
			if sv.After != tc.wantAfter {
				t.Fatalf("After = %v, want %v", sv.After, tc.wantAfter)
			}
			if !sv.Vote.Timestamp.Equal(f.now) {
				t.Fatalf("timestamp %v, want the event's time %v", sv.Vote.Timestamp, f.now)
			}
		})
	}
}
