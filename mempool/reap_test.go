package mempool

import (
	"context"
	"fmt"
	"testing"
)

func TestReapMaxBytesMaxGas(t *testing.T) {
	type tx struct {
		tx            string
		priority, gas int64
	}
	fifo := []tx{{"a", 0, 1}, {"bb", 0, 2}, {"ccc", 0, 3}, {"dddd", 0, 4}}
	prio := []tx{{"a", 1, 1}, {"bb", 5, 2}, {"ccc", 1, 3}, {"dddd", 9, 4}, {"eeeee", 5, 5}}
	tests := []struct {
		name             string
		txs              []tx
		maxBytes, maxGas int64
		want             string
	}{
		{"fifo no limit", fifo, -1, -1, "[a bb ccc dddd]"},
		{"fifo bytes", fifo, 6, -1, "[a bb ccc]"},
		{"fifo bytes stop, not skip", fifo, 5, -1, "[a bb]"},
		{"fifo gas", fifo, -1, 3, "[a bb]"},
		{"fifo zero", fifo, 0, -1, "[]"},
		{"fifo both, gas binds", fifo, 100, 6, "[a bb ccc]"},
		{"fifo both, bytes binds", fifo, 3, 100, "[a bb]"},
		{"priority no limit", prio, -1, -1, "[dddd bb eeeee a ccc]"},
		{"priority bytes", prio, 11, -1, "[dddd bb eeeee]"},
		{"priority gas", prio, -1, 10, "[dddd bb]"},
		{"priority gas exact", prio, -1, 11, "[dddd bb eeeee]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, DefaultConfig())
			for _, x := range tt.txs {
				env.app.set(x.tx, x.priority, x.gas)
				env.checkTx(t, x.tx)
			}
			if got := fmt.Sprint(strs(env.mp.ReapMaxBytesMaxGas(tt.maxBytes, tt.maxGas))); got != tt.want {
				t.Fatalf("reaped %s, want %s", got, tt.want)
			}
			// Reaping leaves the pool as it was.
			if n := env.mp.Size(); n != len(tt.txs) {
				t.Fatalf("Size = %d after reaping, want %d", n, len(tt.txs))
			}
		})
	}
}

func TestTxsAfterStreamsInArrivalOrder(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	ctx := context.Background()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	seen := func(b TxBatch) string {
		var out []string
		for _, tx := range b.Txs {
			if tx.Hash != TxHash(tx.Tx) {
				t.Fatalf("tx %q: wrong hash", tx.Tx)
			}
			out = append(out, fmt.Sprintf("%d:%s", tx.Seq, tx.Tx))
		}
		return fmt.Sprint(out)
	}

	b := env.mp.TxsAfter(0, "p1", 2)
	if seen(b) != "[]" || b.Next != 0 || closed(b.Wait) {
		t.Fatalf("empty pool: %s next %d, wait closed %v", seen(b), b.Next, closed(b.Wait))
	}
	wait := b.Wait
	env.checkTx(t, "a")
	if !closed(wait) {
		t.Fatal("Wait not closed by a new tx")
	}
	if _, err := env.mp.CheckTxFrom(ctx, []byte("b"), "p1"); err != nil {
		t.Fatal(err)
	}
	env.checkTx(t, "c", "d")

	// p1 sent "b": it is skipped, but the cursor moves past it.
	b = env.mp.TxsAfter(0, "p1", 2)
	if seen(b) != "[1:a 3:c]" || b.Next != 3 || !closed(b.Wait) {
		t.Fatalf("first batch: %s next %d, wait closed %v", seen(b), b.Next, closed(b.Wait))
	}
	b = env.mp.TxsAfter(b.Next, "p1", 2)
	if seen(b) != "[4:d]" || b.Next != 4 || closed(b.Wait) {
		t.Fatalf("second batch: %s next %d, wait closed %v", seen(b), b.Next, closed(b.Wait))
	}

	// Committed txs leave the stream; sequence numbers are never reused.
	mustCommit(t, env, 1, "a", "d")
	env.checkTx(t, "e")
	if !closed(b.Wait) {
		t.Fatal("Wait not closed by a new tx")
	}
	b = env.mp.TxsAfter(b.Next, "p1", 0)
	if seen(b) != "[5:e]" || b.Next != 5 {
		t.Fatalf("after commit: %s next %d", seen(b), b.Next)
	}
	if b = env.mp.TxsAfter(0, "p2", 0); seen(b) != "[2:b 3:c 5:e]" {
		t.Fatalf("from the start for p2: %s", seen(b))
	}
}
