package rpc

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
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
		q, err := ParseQuery(tc.q)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", tc.q, err)
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
		if _, err := ParseQuery(s); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("ParseQuery(%q) = %v, want ErrInvalidQuery", s, err)
		}
	}
	long := "a=1"
	for range MaxQueryConditions {
		long += " AND a=1"
	}
	if _, err := ParseQuery(long); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("too many conditions: %v", err)
	}
	q, err := ParseQuery("  transfer.key = 'x y' AND n >= -3.5 ")
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

func TestEventBusDropsSlowSubscriber(t *testing.T) {
	bus := NewEventBus(nil, 0)
	ctx := t.Context()
	slow, err := bus.Subscribe(ctx, &Query{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := ParseQuery("tm.event='NewBlock'")
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

func TestQueryMayMatchEvent(t *testing.T) {
	for src, want := range map[string]bool{
		"":                                      true,
		"tm.event = 'Tx'":                       true,
		"tm.event = 'NewBlock'":                 false,
		"tm.event = 'NewBlock' AND app.k = 'v'": false,
		"app.key = 'x'":                         true,
		"tm.event CONTAINS 'T'":                 true,
	} {
		q, err := ParseQuery(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := q.MayMatchEvent(EventTx); got != want {
			t.Errorf("%q: MayMatchEvent(Tx) = %v, want %v", src, got, want)
		}
	}
}

// A bus whose only subscriber wants NewBlock still delivers it, and one
// subscriber that can match Tx events gets them.
func TestPublishBlockBuildsWhatSubscribersCanMatch(t *testing.T) {
	bus := NewEventBus(nil, 0)
	blk := &types.Block{Header: types.Header{Height: 3}, Data: types.Data{Txs: [][]byte{[]byte("a=1"), []byte("b=2")}}}
	bus.PublishBlock(blk, types.BlockID{}, nil) // no subscribers: nothing to do
	qb, _ := ParseQuery("tm.event='NewBlock'")
	blocks, err := bus.Subscribe(t.Context(), qb)
	if err != nil {
		t.Fatal(err)
	}
	bus.PublishBlock(blk, types.BlockID{}, nil)
	if ev := <-blocks; ev.Type != EventNewBlock || ev.Block != blk {
		t.Fatalf("NewBlock subscriber got %+v", ev)
	}
	qt, _ := ParseQuery("tm.event='Tx'")
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
		bus := NewEventBus(nil, 1)
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := bus.Subscribe(ctx, &Query{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Subscribe(t.Context(), &Query{}); !errors.Is(err, ErrTooManySubscribers) {
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
		Events:    []abci.Event{{Type: "mint", Attributes: []abci.EventAttribute{{Key: "amount", Value: "3"}, {Key: "", Value: "skip"}}}},
		TxResults: []*abci.ExecTxResult{txResult([]byte("a=1"))},
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

// TestBroadcastTxCommitTimeout uses a fake clock: the tx is accepted but
// never committed, so the call times out after TimeoutBroadcastTxCommit.
func TestBroadcastTxCommitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.TimeoutBroadcastTxCommit = 3 * time.Second
		be := newFakeBackend(t, 1)
		srv, err := NewServer(cfg, be, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := parseJSONParams([]byte(`{"tx":"eD0x"}`), []string{"tx"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = srv.broadcastTxCommit(t.Context(), a)
		if !errors.Is(err, ErrTxCommitTimeout) {
			t.Fatalf("got %v, want ErrTxCommitTimeout", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("waited %v, want 3s", d)
		}
		synctest.Wait()
		if be.bus.NumSubscribers() != 0 {
			t.Error("commit subscription leaked")
		}
	})
}
