package eventbus

import (
	"testing"

	"github.com/bftnode/bftnode/eventbus/query"
	"github.com/bftnode/bftnode/types"
)

// TestWantsFollowsSubscriptions: a type is wanted only while a subscriber
// may match it.
func TestWantsFollowsSubscriptions(t *testing.T) {
	bus := New(nil, 0)
	if bus.Wants(EventVote) {
		t.Fatal("an empty bus wants Vote events")
	}
	q, _ := query.Parse("tm.event='Vote'")
	if _, err := bus.Subscribe(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	if !bus.Wants(EventVote) || bus.Wants(EventNewRoundStep) {
		t.Fatalf("subscribed to Vote: wants Vote %v, NewRoundStep %v", bus.Wants(EventVote), bus.Wants(EventNewRoundStep))
	}
}

// TestPublishEvidence: one NewEvidence event per piece of a block's
// evidence, with the block's height, to a matching subscriber only.
func TestPublishEvidence(t *testing.T) {
	bus := New(nil, 0)
	q, _ := query.Parse("tm.event='NewEvidence'")
	got, err := bus.Subscribe(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	q2, _ := query.Parse("tm.event='Vote'")
	votes, err := bus.Subscribe(t.Context(), q2)
	if err != nil {
		t.Fatal(err)
	}
	list := types.EvidenceList{&types.DuplicateVoteEvidence{TotalVotingPower: 1}, &types.DuplicateVoteEvidence{TotalVotingPower: 2}}
	bus.PublishEvidence(7, list)
	for i := range list {
		ev := <-got
		if ev.Type != EventNewEvidence || ev.EvidenceHeight != 7 || ev.Evidence != list[i] || ev.Attributes[KeyEvent][0] != EventNewEvidence {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if len(got) != 0 || len(votes) != 0 {
		t.Fatalf("%d more NewEvidence events, %d to the Vote subscriber", len(got), len(votes))
	}
}
