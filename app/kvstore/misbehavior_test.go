package kvstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
)

// TestMisbehaviorRemovesValidator: evidence against a validator removes it
// (a power-0 update) once; evidence against one no longer in the set, or
// against the last validator, changes nothing; each is recorded in a
// misbehavior event.
func TestMisbehaviorRemovesValidator(t *testing.T) {
	ctx := context.Background()
	a := openInMemory(t)
	pubA, pubB := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	addr := func(pub []byte) []byte { s := sha256.Sum256(pub); return s[:20] }
	val := func(pub []byte, power int64) abci.ValidatorUpdate {
		return abci.ValidatorUpdate{PubKey: crypto.PublicKey{Sum: &crypto.PublicKey_Ed25519{Ed25519: pub}}, Power: power}
	}
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{InitialHeight: 1, Validators: []abci.ValidatorUpdate{val(pubA, 10), val(pubB, 10)}}); err != nil {
		t.Fatal(err)
	}
	misbehave := func(h int64, pub []byte) *abci.ResponseFinalizeBlock {
		t.Helper()
		resp, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Misbehavior: []abci.Misbehavior{{
			Type: abci.MisbehaviorType_DUPLICATE_VOTE, Validator: abci.Validator{Address: addr(pub), Power: 10}, Height: h - 1, TotalVotingPower: 20,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	action := func(resp *abci.ResponseFinalizeBlock) string {
		t.Helper()
		if len(resp.Events) != 1 || resp.Events[0].Type != "misbehavior" {
			t.Fatalf("events %+v, want one misbehavior event", resp.Events)
		}
		for _, at := range resp.Events[0].Attributes {
			if at.Key == "action" {
				return at.Value
			}
		}
		t.Fatal("misbehavior event without an action")
		return ""
	}

	resp := misbehave(2, pubA)
	if len(resp.ValidatorUpdates) != 1 || !bytes.Equal(resp.ValidatorUpdates[0].PubKey.GetEd25519(), pubA) || resp.ValidatorUpdates[0].Power != 0 {
		t.Fatalf("validator updates %+v, want A at power 0", resp.ValidatorUpdates)
	}
	if got := action(resp); got != "removed" {
		t.Fatalf("action %q, want removed", got)
	}
	resp = misbehave(3, pubA)
	if len(resp.ValidatorUpdates) != 0 || action(resp) != "not a validator" {
		t.Fatalf("evidence against a removed validator: updates %+v, action %q", resp.ValidatorUpdates, action(resp))
	}
	resp = misbehave(4, pubB)
	if len(resp.ValidatorUpdates) != 0 || action(resp) != "kept: the last validator" {
		t.Fatalf("evidence against the last validator: updates %+v, action %q", resp.ValidatorUpdates, action(resp))
	}
}
