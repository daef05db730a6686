package kvstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
)

// A key/value tx's event names its key only: the value is in the block,
// and copying it into results and the index would cost its size again.
func TestFinalizeBlockEventsKeyOnly(t *testing.T) {
	a := openInMemory(t)
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

// A node that loses the outcome of a block before Commit (its connection to
// the app failed) restarts and executes the block again, after InitChain
// again if it was the first: the app must reach the app hash it reached the
// first time, not apply the block twice.
func TestBlockExecutedAgainBeforeCommit(t *testing.T) {
	ctx := context.Background()
	pub := make([]byte, 32)
	pub[0] = 1
	initChain := &abci.RequestInitChain{InitialHeight: 1, Validators: []abci.ValidatorUpdate{{
		PubKey: crypto.PublicKey{Sum: &crypto.PublicKey_Ed25519{Ed25519: pub}}, Power: 10,
	}}}
	block := func(h int64, txs ...string) *abci.RequestFinalizeBlock {
		req := &abci.RequestFinalizeBlock{Height: h}
		for _, tx := range txs {
			req.Txs = append(req.Txs, []byte(tx))
		}
		return req
	}
	finalize := func(a *kvstore.App, req *abci.RequestFinalizeBlock) []byte {
		t.Helper()
		resp, err := a.FinalizeBlock(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.AppHash
	}
	commit := func(a *kvstore.App) {
		t.Helper()
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
	}
	// The reference: each call once.
	ref := openInMemory(t)
	if _, err := ref.InitChain(ctx, initChain); err != nil {
		t.Fatal(err)
	}
	want1 := finalize(ref, block(1, "a=1"))
	commit(ref)
	want2 := finalize(ref, block(2, "counter=x", "b=2"))
	commit(ref)

	a := openInMemory(t)
	if _, err := a.InitChain(ctx, initChain); err != nil {
		t.Fatal(err)
	}
	finalize(a, block(1, "a=1"))
	// Lost: the node calls InitChain again (the app reports height 0).
	if _, err := a.InitChain(ctx, initChain); err != nil {
		t.Fatal(err)
	}
	if got := finalize(a, block(1, "a=1")); !bytes.Equal(got, want1) {
		t.Fatalf("height 1 again after InitChain: app hash %X, want %X", got, want1)
	}
	commit(a)
	finalize(a, block(2, "counter=x", "b=2"))
	if got := finalize(a, block(2, "counter=x", "b=2")); !bytes.Equal(got, want2) {
		t.Fatalf("height 2 again: app hash %X, want %X", got, want2)
	}
	commit(a)
	info, err := a.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 2 || !bytes.Equal(info.LastBlockAppHash, want2) {
		t.Fatalf("Info = height %d, app hash %X; want 2, %X", info.LastBlockHeight, info.LastBlockAppHash, want2)
	}
}

func openInMemory(t *testing.T) *kvstore.App {
	t.Helper()
	a, err := kvstore.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}
