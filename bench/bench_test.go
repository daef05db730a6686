package bench

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// newBlockMessage returns a NewBlock subscription message for txs in the
// shape and about the size a bftnode node sends: the block and the
// kvstore's result of each tx (an event naming its key).
func newBlockMessageOf(height int64, txs [][]byte) []byte {
	enc := make([]string, len(txs))
	results := make([]any, len(txs))
	for i, tx := range txs {
		enc[i] = base64.StdEncoding.EncodeToString(tx)
		results[i] = map[string]any{"code": 0, "data": nil, "log": "", "info": "", "gas_wanted": "0", "gas_used": "0",
			"events": []any{map[string]any{"type": "app", "attributes": []any{
				map[string]any{"key": "key", "value": string(tx[:40]), "index": true}}}},
			"codespace": ""}
	}
	block := blockJSONOf(height, txs)
	block["last_commit"] = map[string]any{"height": fmt.Sprint(height - 1), "round": 0, "signatures": []any{}}
	ev := map[string]any{"query": NewBlockQuery, "data": map[string]any{"type": "tendermint/event/NewBlock", "value": map[string]any{
		"block": block, "block_id": map[string]any{"hash": "AB"},
		"result_finalize_block": map[string]any{"events": []any{}, "tx_results": results, "app_hash": "AAAA"}}},
		"events": map[string]any{"tm.event": []string{"NewBlock"}}}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "bench", "result": ev})
	return b
}

// reportCPU reports the process's CPU time per op since before (from
// ReadProc), which unlike ns/op does not count time other processes of a
// loaded machine took.
func reportCPU(b *testing.B, before float64, ops int) {
	after, err := ReadProc(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric((after.CPUSeconds-before)*1e9/float64(ops), "cpu-ns/op")
}

func cpuNow(b *testing.B) float64 {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	return s.CPUSeconds
}

// BenchmarkBlockPerTx measures what a committed tx costs the client on the
// block side: reading its share of a 1,000-tx NewBlock message and
// matching it in the collector. One op is one tx.
func BenchmarkBlockPerTx(b *testing.B) {
	gen, _ := NewTxGen("0123abcd", 250)
	const perBlock = 1000
	b.ReportAllocs()
	var msgs [][]byte
	col := NewCollector(gen)
	now := time.Now()
	for h := int64(2); len(msgs)*perBlock < b.N; h++ {
		txs := make([][]byte, perBlock)
		for i := range txs {
			var seq uint64
			seq, txs[i] = gen.Next()
			col.Sent(seq, now)
		}
		msgs = append(msgs, newBlockMessageOf(h, txs))
	}
	b.SetBytes(int64(len(msgs[0]) / perBlock))
	b.ResetTimer()
	cpu0 := cpuNow(b)
	for _, m := range msgs {
		blk, ok, err := parseNewBlockMessage(m)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if got := col.AddBlock(blk); got != perBlock {
			b.Fatalf("%d of ours", got)
		}
	}
	reportCPU(b, cpu0, len(msgs)*perBlock)
}

// BenchmarkSubmitPerTx measures the client's own work to submit one tx
// over a websocket, without the I/O: making the tx, encoding the request,
// recording it and reading the response.
func BenchmarkSubmitPerTx(b *testing.B) {
	gen, _ := NewTxGen("0123abcd", 250)
	r := &runner{o: Options{}, gen: gen, col: NewCollector(gen)}
	resp := []byte(`{"jsonrpc":"2.0","id":123456,"result":{"code":0,"data":"","log":"","codespace":"","hash":"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}}` + "\n")
	var buf []byte
	b.ReportAllocs()
	cpu0 := cpuNow(b)
	for b.Loop() {
		seq, tx := r.gen.Next()
		r.col.Sent(seq, time.Now())
		buf = appendBroadcast(buf[:0], "broadcast_tx_async", seq, tx)
		m, err := parseBroadcastResponse(resp)
		if err != nil || m.ID == nil {
			b.Fatal(err)
		}
		r.checkResult(seq, m.Result)
	}
	reportCPU(b, cpu0, b.N)
}

func TestParseBroadcastResponse(t *testing.T) {
	u := func(n uint64) *uint64 { return &n }
	for _, tc := range []struct {
		msg  string
		want broadcastResponse
		bad  bool
	}{
		{msg: `{"jsonrpc":"2.0","id":42,"result":{"code":0,"data":"","log":"","codespace":"","hash":"AB"}}` + "\n", want: broadcastResponse{ID: u(42)}},
		{msg: `{"jsonrpc":"2.0","id":7,"result":{"code":3,"data":"","log":"no","codespace":"","hash":"AB"}}`, want: broadcastResponse{ID: u(7), Result: broadcastResult{Code: 3, Log: "no"}}},
		{msg: `{"id":9,"jsonrpc":"2.0","result":{"log":"","code":0}}`, want: broadcastResponse{ID: u(9)}},
		{msg: `{"jsonrpc":"2.0","id":99999999999999999999,"result":{"code":0,"log":""}}`, bad: true},
		{msg: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`, want: broadcastResponse{Error: &rpc.Error{Code: -32700, Message: "Parse error"}}},
		{msg: `{"jsonrpc":"2.0","id":"x","result":{"code":0,`, bad: true},
	} {
		got, err := parseBroadcastResponse([]byte(tc.msg))
		if (err != nil) != tc.bad || err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseBroadcastResponse(%s) = %+v, %v; want %+v", tc.msg, got, err, tc.want)
		}
	}
}
