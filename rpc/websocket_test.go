package rpc

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bftnode/bftnode/eventbus"
)

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWS(t *testing.T, ts *testServer) *wsClient {
	t.Helper()
	url := "ws://" + strings.TrimPrefix(ts.url, "http://") + "/websocket"
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(id any, method string, params any) {
	c.t.Helper()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if err := c.conn.WriteJSON(req); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next message, decoded; it fails after 10 s of silence.
func (c *wsClient) read() map[string]any {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		c.t.Fatal(err)
	}
	var m map[string]any
	if err := c.conn.ReadJSON(&m); err != nil {
		c.t.Fatalf("websocket read: %v", err)
	}
	return m
}

// ack sends a request and checks its (next) response has no error.
func (c *wsClient) ack(id any, method string, params any) map[string]any {
	c.t.Helper()
	c.send(id, method, params)
	m := c.read()
	if m["error"] != nil || fmt.Sprint(m["id"]) != fmt.Sprint(id) {
		c.t.Fatalf("%s: %v", method, m)
	}
	return m
}

// fail sends a request and returns its error code and data.
func (c *wsClient) fail(id any, method string, params any) (float64, string) {
	c.t.Helper()
	c.send(id, method, params)
	m := c.read()
	if m["error"] == nil {
		c.t.Fatalf("%s succeeded: %v", method, m)
	}
	e := m["error"].(map[string]any)
	data, _ := e["data"].(string)
	return e["code"].(float64), data
}

// waitSubscribers polls until the bus has n subscribers.
func waitSubscribers(t *testing.T, bus *eventbus.Bus, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for bus.NumSubscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("bus has %d subscribers, want %d", bus.NumSubscribers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWebsocketSubscriptions(t *testing.T) {
	ts := startServer(t, 2, nil)
	c := dialWS(t, ts)
	c.ack(1, "subscribe", map[string]any{"query": "tm.event='NewBlock'"})
	c.ack(2, "subscribe", map[string]any{"query": "tm.event='NewBlockHeader'"})
	c.ack("tx", "subscribe", map[string]any{"query": "tm.event='Tx' AND transfer.key='a'"})

	block, id := ts.be.commitBlock([][]byte{[]byte("a=1"), []byte("b=2")})
	byID := map[string]map[string]any{}
	for range 3 {
		m := c.read()
		byID[fmt.Sprint(m["id"])] = m
	}
	expect(t, byID["1"], map[string]any{
		"jsonrpc":                                            "2.0",
		"result.query":                                       "tm.event='NewBlock'",
		"result.data.type":                                   "tendermint/event/NewBlock",
		"result.data.value.block.header.height":              "3",
		"result.data.value.block.data.txs":                   isArrayLen(2),
		"result.data.value.block_id.hash":                    upperHex(id.Hash[:]),
		"result.data.value.result_finalize_block.tx_results": isArrayLen(2),
		"result.data.value.result_finalize_block.tx_results.0.gas_wanted": "7",
		"result.data.value.result_finalize_block.events.0.type":           "begin",
		"result.data.value.result_finalize_block.app_hash":                "qwM=",
	})
	expect(t, byID["2"], map[string]any{
		"result.data.type":                  "tendermint/event/NewBlockHeader",
		"result.data.value.header.height":   "3",
		"result.data.value.header.time":     block.Header.Time.Format(time.RFC3339Nano),
		"result.data.value.header.chain_id": testChainID,
	})
	expect(t, byID["tx"], map[string]any{
		"result.query":                                    "tm.event='Tx' AND transfer.key='a'",
		"result.data.type":                                "tendermint/event/Tx",
		"result.data.value.TxResult.height":               "3",
		"result.data.value.TxResult.index":                0.0,
		"result.data.value.TxResult.tx":                   b64("a=1"),
		"result.data.value.TxResult.result.gas_used":      "5",
		"result.data.value.TxResult.result.events.0.type": "transfer",
	})
	events := byID["tx"]["result"].(map[string]any)["events"].(map[string]any)
	wantEvents := map[string]string{"tm.event": "Tx", "tx.hash": upperHex(sha256Of("a=1")), "tx.height": "3", "transfer.key": "a"}
	for k, v := range wantEvents {
		if vs, ok := events[k].([]any); !ok || len(vs) != 1 || vs[0] != v {
			t.Errorf("events[%q] = %v, want [%s]", k, events[k], v)
		}
	}

	// b=2 did not match; the next Tx event is from the next block.
	ts.be.commitBlock([][]byte{[]byte("a=3")})
	for range 3 {
		m := c.read()
		if m["id"] == "tx" {
			expect(t, m, map[string]any{"result.data.value.TxResult.tx": b64("a=3"), "result.data.value.TxResult.height": "4"})
		}
	}

	// Ordinary methods work on the websocket too.
	expect(t, c.ack(9, "status", nil), map[string]any{"result.sync_info.latest_block_height": "4"})
	expect(t, c.ack(10, "block", []any{"1"}), map[string]any{"result.block.header.height": "1"})

	// Unsubscribe one, then all.
	c.ack(11, "unsubscribe", map[string]any{"query": "tm.event='NewBlockHeader'"})
	if code, data := c.fail(12, "unsubscribe", map[string]any{"query": "tm.event='NewBlockHeader'"}); code != CodeInternalError || !strings.Contains(data, "not found") {
		t.Errorf("second unsubscribe: %v %q", code, data)
	}
	waitSubscribers(t, ts.be.bus, 2)
	c.ack(13, "unsubscribe_all", nil)
	waitSubscribers(t, ts.be.bus, 0)
	if code, _ := c.fail(14, "unsubscribe_all", nil); code != CodeInternalError {
		t.Errorf("second unsubscribe_all: %v", code)
	}
	// After unsubscribing, a new block sends nothing: the next message
	// is the answer to the next request.
	ts.be.commitBlock([][]byte{[]byte("a=5")})
	expect(t, c.ack(15, "health", nil), map[string]any{"id": 15.0})
}

func TestWebsocketLimitsAndErrors(t *testing.T) {
	ts := startServer(t, 1, func(c *Config) {
		c.MaxSubscriptionsPerClient = 2
		c.MaxSubscriptionClients = 1
		c.MaxQueryLength = 64
	})
	c := dialWS(t, ts)
	c.ack(1, "subscribe", map[string]any{"query": "tm.event='Tx'"})
	if code, data := c.fail(2, "subscribe", map[string]any{"query": "tm.event='Tx'"}); code != CodeInternalError || !strings.Contains(data, "already subscribed") {
		t.Errorf("duplicate: %v %q", code, data)
	}
	c.ack(3, "subscribe", map[string]any{"query": "tm.event='NewBlock'"})
	if code, data := c.fail(4, "subscribe", map[string]any{"query": "tm.event='NewBlockHeader'"}); code != CodeServerError || !strings.Contains(data, "max_subscriptions_per_client") {
		t.Errorf("third: %v %q", code, data)
	}
	if code, _ := c.fail(5, "subscribe", map[string]any{"query": "tm.event=="}); code != CodeInvalidParams {
		t.Errorf("bad query: %v", code)
	}
	if code, _ := c.fail(6, "subscribe", map[string]any{"query": strings.Repeat("a", 65) + "=1"}); code != CodeInvalidParams {
		t.Errorf("long query: %v", code)
	}
	if code, _ := c.fail(7, "subscribe", nil); code != CodeInvalidParams {
		t.Errorf("missing query: %v", code)
	}
	if code, _ := c.fail(8, "no_such", nil); code != CodeMethodNotFound {
		t.Errorf("unknown method: %v", code)
	}
	// Malformed JSON gets a parse error and the connection stays up.
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"id":`)); err != nil {
		t.Fatal(err)
	}
	if m := c.read(); jget(t, m, "error.code") != float64(CodeParseError) {
		t.Errorf("malformed: %v", m)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`[{"jsonrpc":"2.0","id":1,"method":"health"}]`)); err != nil {
		t.Fatal(err)
	}
	if m := c.read(); jget(t, m, "error.code") != float64(CodeInvalidRequest) {
		t.Errorf("batch: %v", m)
	}

	// A second client cannot subscribe while the first holds the only slot.
	c2 := dialWS(t, ts)
	if code, data := c2.fail(1, "subscribe", map[string]any{"query": "tm.event='Tx'"}); code != CodeServerError || !strings.Contains(data, "max_subscription_clients") {
		t.Errorf("second client: %v %q", code, data)
	}
	// When the first disconnects, its subscriptions end and the slot frees.
	c.conn.Close()
	waitSubscribers(t, ts.be.bus, 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c2.send(2, "subscribe", map[string]any{"query": "tm.event='Tx'"})
		if m := c2.read(); m["error"] == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("slot never freed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBroadcastTxCommitOverWebsocket(t *testing.T) {
	ts := startServer(t, 1, nil)
	ts.be.mu.Lock()
	ts.be.autoBlock = true
	ts.be.mu.Unlock()
	c := dialWS(t, ts)
	m := c.ack(1, "broadcast_tx_commit", map[string]any{"tx": b64("w=1")})
	expect(t, m, map[string]any{"result.height": "2", "result.hash": upperHex(sha256Of("w=1"))})
}

func TestServeShutdownClosesWebsockets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ListenAddress = "tcp://127.0.0.1:0"
	be := newFakeBackend(t, 1)
	srv, addr, stop := serve(t, cfg, be)
	ts := &testServer{srv: srv, be: be, url: "http://" + addr}
	c := dialWS(t, ts)
	c.ack(1, "subscribe", map[string]any{"query": "tm.event='Tx'"})
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m json.RawMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("websocket still open after shutdown")
			}
			break
		}
	}
	waitSubscribers(t, be.bus, 0)
}

// TestWebsocketServesEveryMethod checks that, as in CometBFT, the
// websocket answers any method, and that pipelined requests are all
// answered, each with its id (in the order they finish: unlike CometBFT,
// requests on one connection run concurrently).
func TestWebsocketServesEveryMethod(t *testing.T) {
	ts := startServer(t, 2, nil)
	c := dialWS(t, ts)
	m := c.ack("s", "status", nil)
	expect(t, m, map[string]any{"result.sync_info.latest_block_height": "2"})
	const n = 50
	for i := range n {
		c.send(i, "broadcast_tx_sync", map[string]any{"tx": b64(fmt.Sprintf("p%d=1", i))})
	}
	seen := make(map[int]bool)
	for range n {
		m := c.read()
		id, ok := m["id"].(float64)
		if !ok || id < 0 || id >= n || seen[int(id)] {
			t.Fatalf("unexpected answer: %v", m)
		}
		seen[int(id)] = true
		expect(t, m, map[string]any{"result.code": 0.0, "result.hash": upperHex(sha256Of(fmt.Sprintf("p%d=1", int(id))))})
	}
	if code, data := c.fail(7, "broadcast_tx_async", map[string]any{"tx": "!!"}); code != CodeInvalidParams || !strings.Contains(data, "base64") {
		t.Errorf("bad tx over the websocket: %v %q", code, data)
	}
	if u := ts.call(t, "num_unconfirmed_txs", nil); jget(t, u, "n_txs") != fmt.Sprint(n) {
		t.Errorf("mempool holds %v txs, want %d", jget(t, u, "n_txs"), n)
	}
}
