package eventbus

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

func TestEventBusDropsSlowSubscriber(t *testing.T) {
	bus := New(nil, 0)
	ctx := t.Context()
	slow, err := bus.Subscribe(ctx, &query.Query{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := query.Parse("tm.event='NewBlock'")
	other, err := bus.Subscribe(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	blk := &types.Block{Header: types.Header{Height: 1}}
	// Each block publishes 2 events for the catch-all subscriber and 1 for
	// the NewBlock one: after 51 blocks the catch-all has overflowed.
	for range DefaultSubscriberBuffer/2 + 1 {
		bus.PublishBlock(blk, types.BlockID{}, nil)
		<-other
	}
	n := 0
	for range slow {
		n++
	}
	if n != DefaultSubscriberBuffer {
		t.Errorf("slow subscriber got %d events before its channel closed, want %d", n, DefaultSubscriberBuffer)
	}
	if bus.NumSubscribers() != 1 {
		t.Errorf("%d subscribers, want 1", bus.NumSubscribers())
	}
}

// A bus whose only subscriber wants NewBlock still delivers it, and one
// subscriber that can match Tx events gets them.
func TestPublishBlockBuildsWhatSubscribersCanMatch(t *testing.T) {
	bus := New(nil, 0)
	blk := &types.Block{Header: types.Header{Height: 3}, Data: types.Data{Txs: [][]byte{[]byte("a=1"), []byte("b=2")}}}
	bus.PublishBlock(blk, types.BlockID{}, nil) // no subscribers: nothing to do
	qb, _ := query.Parse("tm.event='NewBlock'")
	blocks, err := bus.Subscribe(t.Context(), qb)
	if err != nil {
		t.Fatal(err)
	}
	bus.PublishBlock(blk, types.BlockID{}, nil)
	if ev := <-blocks; ev.Type != EventNewBlock || ev.Block != blk {
		t.Fatalf("NewBlock subscriber got %+v", ev)
	}
	qt, _ := query.Parse("tm.event='Tx'")
	txs, err := bus.Subscribe(t.Context(), qt)
	if err != nil {
		t.Fatal(err)
	}
	bus.PublishBlock(blk, types.BlockID{}, nil)
	<-blocks
	for i, want := range []string{"a=1", "b=2"} {
		if ev := <-txs; ev.Type != EventTx || string(ev.Tx.Tx) != want {
			t.Fatalf("Tx event %d: %+v", i, ev)
		}
	}
}

func TestEventBusLimitAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := New(nil, 1)
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := bus.Subscribe(ctx, &query.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Subscribe(t.Context(), &query.Query{}); !errors.Is(err, ErrTooManySubscribers) {
			t.Errorf("second subscription: %v", err)
		}
		cancel()
		synctest.Wait()
		if _, ok := <-ch; ok {
			t.Error("channel open after cancel")
		}
		if bus.NumSubscribers() != 0 {
			t.Error("subscriber not removed")
		}
	})
}

func TestBlockEventsAttributes(t *testing.T) {
	blk := &types.Block{Header: types.Header{Height: 7}, Data: types.Data{Txs: [][]byte{[]byte("a=1")}}}
	res := &abci.ResponseFinalizeBlock{
		Events: []abci.Event{{Type: "mint", Attributes: []abci.EventAttribute{{Key: "amount", Value: "3"}, {Key: "", Value: "skip"}}}},
		TxResults: []*abci.ExecTxResult{{Events: []abci.Event{{Type: "transfer", Attributes: []abci.EventAttribute{
			{Key: "key", Value: "a", Index: true}, {Key: "note", Value: "unindexed", Index: false}}}}}},
	}
	evs := BlockEvents(blk, types.BlockID{}, res)
	if len(evs) != 3 || evs[0].Type != EventNewBlock || evs[1].Type != EventNewBlockHeader || evs[2].Type != EventTx {
		t.Fatalf("events %+v", evs)
	}
	if got := evs[0].Attributes["mint.amount"]; len(got) != 1 || got[0] != "3" {
		t.Errorf("NewBlock mint.amount = %v", got)
	}
	if got := evs[0].Attributes["block.height"]; len(got) != 1 || got[0] != "7" {
		t.Errorf("NewBlock block.height = %v", got)
	}
	if _, ok := evs[0].Attributes["mint."]; ok {
		t.Error("empty attribute key indexed")
	}
	// The event bus carries unindexed attributes too; only Index skips them.
	if got := evs[2].Attributes["transfer.note"]; len(got) != 1 {
		t.Errorf("Tx transfer.note = %v", got)
	}
}
