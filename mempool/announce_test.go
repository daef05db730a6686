package mempool

import (
	"context"
	"fmt"
	"testing"
)

func hashes(txs ...string) [][32]byte {
	hs := make([][32]byte, len(txs))
	for i, tx := range txs {
		hs[i] = TxHash([]byte(tx))
	}
	return hs
}

// Announced returns the hashes the node has not seen, and makes the
// announcer a holder of the pooled ones: gossip streams them to it no more.
func TestAnnounced(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "pooled", "committed")
	if err := env.commit(t, 1, false, "committed"); err != nil {
		t.Fatal(err)
	}
	unknown := env.mp.Announced("peer1", hashes("pooled", "committed", "new"))
	if len(unknown) != 1 || unknown[0] != TxHash([]byte("new")) {
		t.Fatalf("Announced returned %x, want only the hash of \"new\"", unknown)
	}
	if b := env.mp.TxsAfter(0, "peer1", 0); len(b.Txs) != 0 {
		t.Fatalf("TxsAfter for the announcer gave %d txs, want none (it has the pooled one)", len(b.Txs))
	}
	if b := env.mp.RelayedTxsAfter(0, "peer2", 0); len(b.Txs) != 1 || string(b.Txs[0].Tx) != "pooled" {
		t.Fatalf("RelayedTxsAfter for another peer gave %+v, want the pooled tx", b.Txs)
	}
	if b := env.mp.LocalTxsAfter(0, 0); len(b.Txs) != 0 {
		t.Fatalf("LocalTxsAfter gave %d txs, want none: a peer has the pooled one", len(b.Txs))
	}
}

// Wanted gives a peer each pooled tx it asks for once.
func TestWanted(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	env.checkTx(t, "a", "b")
	got := env.mp.Wanted("peer1", hashes("b", "gone", "a"))
	if len(got) != 2 || string(got[0].Tx) != "b" || string(got[1].Tx) != "a" {
		t.Fatalf("Wanted gave %+v, want b then a", got)
	}
	if again := env.mp.Wanted("peer1", hashes("a")); len(again) != 0 {
		t.Fatalf("Wanted again gave %d txs, want none", len(again))
	}
	if other := env.mp.Wanted("peer2", hashes("a")); len(other) != 1 {
		t.Fatalf("Wanted by another peer gave %d txs, want 1", len(other))
	}
	// A tx a peer sent is not sent back to it when it asks.
	if _, err := env.mp.CheckTxFrom(context.Background(), []byte("c"), "peer3"); err != nil {
		t.Fatal(err)
	}
	if back := env.mp.Wanted("peer3", hashes("c")); len(back) != 0 {
		t.Fatalf("Wanted gave the sender its own tx back")
	}
}

// LocalTxsAfter streams the txs no peer has; RelayedTxsAfter the others,
// except to a peer that has them; both in arrival order with a cursor.
func TestLocalAndRelayedTxsAfter(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	ctx := context.Background()
	env.checkTx(t, "l1")
	if _, err := env.mp.CheckTxFrom(ctx, []byte("r1"), "peer1"); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "l2")
	if _, err := env.mp.CheckTxFrom(ctx, []byte("r2"), "peer2"); err != nil {
		t.Fatal(err)
	}
	txs := func(b TxBatch) (out []string) {
		for _, tx := range b.Txs {
			out = append(out, string(tx.Tx))
		}
		return out
	}
	if got := txs(env.mp.LocalTxsAfter(0, 0)); fmt.Sprint(got) != "[l1 l2]" {
		t.Errorf("LocalTxsAfter(0) = %v, want [l1 l2]", got)
	}
	b := env.mp.LocalTxsAfter(0, 1)
	if got := txs(b); fmt.Sprint(got) != "[l1]" || b.Next != 1 {
		t.Errorf("LocalTxsAfter(0, limit 1) = %v, next %d; want [l1], next 1", got, b.Next)
	}
	if got := txs(env.mp.LocalTxsAfter(b.Next, 0)); fmt.Sprint(got) != "[l2]" {
		t.Errorf("LocalTxsAfter(%d) = %v, want [l2]", b.Next, got)
	}
	if got := txs(env.mp.RelayedTxsAfter(0, "peer3", 0)); fmt.Sprint(got) != "[r1 r2]" {
		t.Errorf("RelayedTxsAfter(0, peer3) = %v, want [r1 r2]", got)
	}
	if got := txs(env.mp.RelayedTxsAfter(0, "peer1", 0)); fmt.Sprint(got) != "[r2]" {
		t.Errorf("RelayedTxsAfter(0, peer1) = %v, want [r2]", got)
	}
}
