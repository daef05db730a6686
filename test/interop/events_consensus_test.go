package interop

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// cometSteps are CometBFT's names of a round's steps (RoundStepType.String).
var cometSteps = []string{"RoundStepNewHeight", "RoundStepNewRound", "RoundStepPropose", "RoundStepPrevote",
	"RoundStepPrevoteWait", "RoundStepPrecommit", "RoundStepPrecommitWait", "RoundStepCommit"}

// TestConsensusEventsDecodeInCometBFTClient subscribes CometBFT's own RPC
// client to bftnode's consensus events on a running 4-validator network:
// NewRoundStep, Vote, NewRound, CompleteProposal, Polka, Lock and
// ValidBlock each arrive and decode into CometBFT's event data types (by
// their amino names), the steps are CometBFT's, the votes verify with
// CometBFT's signature check against the validator set, and proposers are
// in the set at the index given.
func TestConsensusEventsDecodeInCometBFTClient(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	nw.waitHeight(1, 2*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A client holds at most max_subscriptions_per_client (5) queries.
	groups := [][]string{
		{"NewRoundStep", "Vote", "NewRound", "CompleteProposal", "Polka"},
		{"Lock", "ValidBlock"},
	}
	events := map[string]<-chan ctypes.ResultEvent{}
	for _, g := range groups {
		c, _ := cometClient(t, nw.nodes[0])
		for _, typ := range g {
			ch, err := c.Subscribe(ctx, "interop", fmt.Sprintf("tm.event = '%s'", typ), 64)
			if err != nil {
				t.Fatalf("subscribe to %s: %v", typ, err)
			}
			events[typ] = ch
		}
	}
	c, _ := cometClient(t, nw.nodes[0])
	vals, err := c.Validators(ctx, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := cmttypes.NewValidatorSet(vals.Validators)
	for typ, ch := range events {
		var ev ctypes.ResultEvent
		select {
		case ev = <-ch:
		case <-ctx.Done():
			t.Fatalf("no %s event within 2 minutes", typ)
		}
		if got := ev.Events["tm.event"]; !slices.Equal(got, []string{typ}) {
			t.Errorf("%s: tm.event %v", typ, got)
		}
		switch d := ev.Data.(type) {
		case cmttypes.EventDataRoundState:
			if slices.Contains([]string{"Vote", "NewRound", "CompleteProposal"}, typ) || d.Height <= 0 || !slices.Contains(cometSteps, d.Step) {
				t.Errorf("%s: EventDataRoundState %+v", typ, d)
			}
		case cmttypes.EventDataVote:
			_, val := set.GetByAddress(d.Vote.ValidatorAddress)
			if typ != "Vote" || val == nil {
				t.Fatalf("%s: a vote by %X, not a validator", typ, d.Vote.ValidatorAddress)
			}
			if err := d.Vote.Verify(nw.chainID, val.PubKey); err != nil {
				t.Errorf("Vote: CometBFT's check of the vote's signature: %v", err)
			}
		case cmttypes.EventDataNewRound:
			idx, val := set.GetByAddress(d.Proposer.Address)
			if typ != "NewRound" || val == nil || idx != d.Proposer.Index || d.Step != "RoundStepNewRound" {
				t.Errorf("%s: %+v (proposer at index %d of the set)", typ, d, idx)
			}
		case cmttypes.EventDataCompleteProposal:
			if typ != "CompleteProposal" || len(d.BlockID.Hash) != 32 || bytes.Equal(d.BlockID.Hash, make([]byte, 32)) {
				t.Errorf("%s: %+v", typ, d)
			}
		default:
			t.Errorf("%s: data decoded as %T", typ, ev.Data)
		}
	}
}
