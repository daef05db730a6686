package node

import (
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/types"
)

func testValidators(t *testing.T, n int) *types.ValidatorSet {
	t.Helper()
	vals := make([]*types.Validator, n)
	for i := range vals {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		vals[i] = types.NewValidator(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), 10)
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func all(string) bool { return true }

func typesOf(evs []eventbus.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
		if e.Round != nil && e.Type == eventbus.EventNewRoundStep {
			out[i] += ":" + e.Round.Step
		}
	}
	return out
}

// TestConsensusEventsOfAHeight follows the core's positions through one
// height and checks the events CometBFT's consensus publishes at each.
func TestConsensusEventsOfAHeight(t *testing.T) {
	vals := testValidators(t, 4)
	block := types.BlockID{Hash: types.Hash{1}, PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash{2}}}
	var tr consensusEvents
	at := func(r int32, st consensus.Step) consensus.RoundState {
		return consensus.RoundState{Height: 5, Round: r, Step: st, LockedRound: -1, ValidRound: -1}
	}
	start := consensus.RoundState{Height: 4, Round: 0, Step: consensus.StepPrecommit, LockedRound: -1, ValidRound: -1, Decided: true}

	got := tr.observe(consensus.StartHeight{Height: 5, Validators: vals}, nil, start, at(0, consensus.StepPropose), all)
	want := []string{"NewRoundStep:RoundStepNewRound", "NewRound", "NewRoundStep:RoundStepPropose"}
	if !slices.Equal(typesOf(got), want) {
		t.Fatalf("start of height: %v, want %v", typesOf(got), want)
	}
	if p := got[1].Round; p.Proposer != vals.ProposerForRound(0).Address || p.Height != 5 {
		t.Errorf("NewRound names proposer %X at height %d, want %X at 5", p.Proposer, p.Height, vals.ProposerForRound(0).Address)
	}

	// The proposal, then its block: complete once, when both are here.
	got = tr.observe(consensus.ProposalReceived{Proposal: &types.Proposal{Height: 5, Round: 0, BlockID: block}}, nil, at(0, consensus.StepPropose), at(0, consensus.StepPropose), all)
	if len(got) != 0 {
		t.Fatalf("a proposal without its block: %v", typesOf(got))
	}
	got = tr.observe(consensus.ValueReceived{Height: 5, BlockID: block}, nil, at(0, consensus.StepPropose), at(0, consensus.StepPrevote), all)
	want = []string{"CompleteProposal", "NewRoundStep:RoundStepPrevote"}
	if !slices.Equal(typesOf(got), want) || got[0].Round.BlockID != block {
		t.Fatalf("the block arrives: %v, want %v for the proposed block", typesOf(got), want)
	}

	// Prevotes: the third of four (more than 2/3) is a polka, once; a
	// repeated prevote does not count twice.
	prevote := func(i int32) *types.Vote {
		return &types.Vote{Type: types.PrevoteType, Height: 5, Round: 0, BlockID: block, ValidatorAddress: vals.ByIndex(i).Address, ValidatorIndex: i, Timestamp: time.Unix(1, 0)}
	}
	for i, wantPolka := range []bool{false, false, false, true, false} {
		idx := int32(i)
		if i == 2 {
			idx = 1 // validator 1 again
		} else if i > 2 {
			idx = int32(i - 1)
		}
		got = tr.observe(consensus.VoteReceived{Vote: prevote(idx)}, nil, at(0, consensus.StepPrevote), at(0, consensus.StepPrevote), all)
		polka := slices.Contains(typesOf(got), eventbus.EventPolka)
		if got[0].Type != eventbus.EventVote || got[0].Vote.ValidatorIndex != idx {
			t.Fatalf("prevote %d: first event %v, want the Vote", i, typesOf(got))
		}
		if polka != wantPolka {
			t.Fatalf("prevote %d (validator %d): polka %v, want %v", i, idx, polka, wantPolka)
		}
	}

	// Locking, relocking the same block in a later round, a valid block, a
	// prevote-wait timeout scheduled.
	locked := at(0, consensus.StepPrecommit)
	locked.LockedValue, locked.LockedRound, locked.ValidValue, locked.ValidRound = block, 0, block, 0
	got = tr.observe(consensus.VoteReceived{Vote: prevote(3)}, nil, at(0, consensus.StepPrevote), locked, all)
	for _, w := range []string{eventbus.EventLock, eventbus.EventValidBlock, "NewRoundStep:RoundStepPrecommit"} {
		if !slices.Contains(typesOf(got), w) {
			t.Errorf("locking: %v lacks %s", typesOf(got), w)
		}
	}
	relocked := locked
	relocked.Round, relocked.LockedRound, relocked.ValidRound = 1, 1, 1
	got = tr.observe(consensus.TimeoutFired{Height: 5, Round: 0, Step: consensus.StepPrecommit}, nil, locked, relocked, all)
	for _, w := range []string{eventbus.EventTimeoutWait, eventbus.EventRelock, "NewRoundStep:RoundStepNewRound", eventbus.EventNewRound} {
		if !slices.Contains(typesOf(got), w) {
			t.Errorf("relocking after a precommit timeout: %v lacks %s", typesOf(got), w)
		}
	}
	if slices.Contains(typesOf(got), eventbus.EventLock) {
		t.Errorf("relocking the same block is Relock, not Lock: %v", typesOf(got))
	}
	wait := []consensus.Action{consensus.ScheduleTimeout{Height: 5, Round: 1, Step: consensus.StepPrevote}}
	got = tr.observe(consensus.VoteReceived{Vote: prevote(0)}, wait, relocked, relocked, all)
	if !slices.Contains(typesOf(got), "NewRoundStep:"+eventbus.StepPrevoteWait) {
		t.Errorf("a prevote timeout scheduled: %v lacks the prevote-wait step", typesOf(got))
	}

	// Deciding is the commit step.
	decided := relocked
	decided.Decided = true
	got = tr.observe(consensus.VoteReceived{Vote: prevote(1)}, nil, relocked, decided, all)
	if !slices.Contains(typesOf(got), "NewRoundStep:"+eventbus.StepCommit) {
		t.Errorf("deciding: %v lacks the commit step", typesOf(got))
	}

	// Nobody listening: nothing is built.
	if got := tr.observe(consensus.VoteReceived{Vote: prevote(2)}, nil, at(1, consensus.StepPrevote), at(2, consensus.StepPropose), func(string) bool { return false }); len(got) != 0 {
		t.Errorf("with no subscriber: %v", typesOf(got))
	}
}

// TestValidatorUpdates lists changed, added and removed validators.
func TestValidatorUpdates(t *testing.T) {
	four := testValidators(t, 4)
	next, err := four.Update([]types.ValidatorUpdate{{PubKey: four.ByIndex(0).PubKey, Power: 0}, {PubKey: four.ByIndex(1).PubKey, Power: 30}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[types.Address]int64{}
	for _, v := range validatorUpdates(four, next) {
		got[v.Address] = v.VotingPower
	}
	want := map[types.Address]int64{four.ByIndex(0).Address: 0, four.ByIndex(1).Address: 30}
	if len(got) != len(want) || got[four.ByIndex(0).Address] != 0 || got[four.ByIndex(1).Address] != 30 {
		t.Fatalf("updates %v, want %v", got, want)
	}
}
