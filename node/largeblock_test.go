package node

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestBlockLargerThanOneMiB: a block of 1.5 MiB, well inside the genesis
// block.max_bytes, is proposed, logged in the WAL, committed and queryable
// (the WAL's record limit once stopped the node at 1 MiB).
func TestBlockLargerThanOneMiB(t *testing.T) {
	cfgs := testnet(t, 1, 0)
	cfg := cfgs[0]
	cfg.Mempool.MaxTxBytes = 2 << 20
	cfg.RPC.MaxBodyBytes = 4 << 20
	start(t, cfg)
	c := client(t, cfg)
	waitHeight(t, c, 1, time.Minute)
	value := bytes.Repeat([]byte("v"), 3<<19)
	var res struct {
		TxResult struct {
			Code int `json:"code"`
		} `json:"tx_result"`
		Height string `json:"height"`
	}
	ctx := context.Background()
	if err := c.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": append([]byte("big="), value...)}, &res); err != nil {
		t.Fatal(err)
	}
	if res.TxResult.Code != 0 || res.Height == "" {
		t.Fatalf("large tx not committed: %+v", res)
	}
	committed, err := height(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, c, committed+2, time.Minute) // and the node goes on
	var q struct {
		Response struct {
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if err := c.Call(ctx, "abci_query", map[string]any{"path": "/key", "data": "626967"}, &q); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.Response.Value, value) {
		t.Fatalf("queried %d bytes, want %d", len(q.Response.Value), len(value))
	}
}
