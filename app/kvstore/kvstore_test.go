package kvstore_test

import (
	"context"
	"testing"

	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// A key/value tx's event names its key only: the value is in the block,
// and copying it into results and the index would cost its size again.
func TestFinalizeBlockEventsKeyOnly(t *testing.T) {
	a, err := kvstore.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ctx := context.Background()
	resp, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Txs: [][]byte{[]byte("name=satoshi")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TxResults) != 1 || resp.TxResults[0].Code != kvstore.CodeOK {
		t.Fatalf("results %v, want one OK", resp.TxResults)
	}
	evs := resp.TxResults[0].Events
	if len(evs) != 1 || evs[0].Type != "app" {
		t.Fatalf("events %v, want one app event", evs)
	}
	attrs := evs[0].Attributes
	if len(attrs) != 1 || attrs[0].Key != "key" || attrs[0].Value != "name" || !attrs[0].Index {
		t.Fatalf("attributes %v, want only the indexed key=name", attrs)
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	q, err := a.Query(ctx, &abci.RequestQuery{Data: []byte("name")})
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Value) != "satoshi" {
		t.Fatalf("query name = %q, want satoshi", q.Value)
	}
}
