package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// decodeResp decodes a JSON-RPC response object.
func decodeResp(t *testing.T, b []byte) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return r
}

// assertHealthy checks the server still answers.
func assertHealthy(t *testing.T, ts *testServer) {
	t.Helper()
	expect(t, ts.call(t, "health", nil), map[string]any{})
}

func TestErrorResponses(t *testing.T) {
	ts := startServer(t, 2, func(c *Config) { c.MaxBodyBytes = 4096 })
	tests := []struct {
		name     string
		body     string
		code     int
		id       string
		dataHas  string
		httpCode int
	}{
		{"malformed JSON", `{"jsonrpc":"2.0","id":1,"method":`, CodeParseError, "null", "", 200},
		{"not an object", `42`, CodeInvalidRequest, "null", "", 200},
		{"trailing garbage", `{"jsonrpc":"2.0","id":1,"method":"health"} x`, CodeParseError, "null", "trailing", 200},
		{"bad id", `{"jsonrpc":"2.0","id":{"a":1},"method":"health"}`, CodeInvalidRequest, "null", "id must be", 200},
		{"wrong version", `{"jsonrpc":"1.0","id":7,"method":"health"}`, CodeInvalidRequest, "7", "2.0", 200},
		{"unknown method", `{"jsonrpc":"2.0","id":"x","method":"no_such"}`, CodeMethodNotFound, `"x"`, "no_such", 200},
		{"bad height type", `{"jsonrpc":"2.0","id":2,"method":"block","params":{"height":"abc"}}`, CodeInvalidParams, "2", "height", 200},
		{"bad height object", `{"jsonrpc":"2.0","id":2,"method":"block","params":{"height":{}}}`, CodeInvalidParams, "2", "height", 200},
		{"unknown param", `{"jsonrpc":"2.0","id":3,"method":"block","params":{"hieght":"1"}}`, CodeInvalidParams, "3", "hieght", 200},
		{"too many positional", `{"jsonrpc":"2.0","id":3,"method":"block","params":["1","2"]}`, CodeInvalidParams, "3", "positional", 200},
		{"params not object", `{"jsonrpc":"2.0","id":3,"method":"block","params":5}`, CodeInvalidParams, "3", "object or an array", 200},
		{"bad base64 tx", `{"jsonrpc":"2.0","id":4,"method":"broadcast_tx_sync","params":{"tx":"!!"}}`, CodeInvalidParams, "4", "base64", 200},
		{"missing tx", `{"jsonrpc":"2.0","id":4,"method":"broadcast_tx_sync","params":{}}`, CodeInvalidParams, "4", "missing", 200},
		{"short hash", `{"jsonrpc":"2.0","id":5,"method":"tx","params":{"hash":"ABCD"}}`, CodeInvalidParams, "5", "32-byte", 200},
		{"oversized body", `{"jsonrpc":"2.0","id":6,"method":"broadcast_tx_sync","params":{"tx":"` + strings.Repeat("A", 8000) + `"}}`,
			CodeInvalidRequest, "null", "larger than 4096", http.StatusRequestEntityTooLarge},
		{"empty batch", `[]`, CodeInvalidRequest, "null", "empty batch", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ts.post(t, tc.body)
			if status != tc.httpCode {
				t.Errorf("HTTP status %d, want %d", status, tc.httpCode)
			}
			r := decodeResp(t, body)
			if r.Error == nil {
				t.Fatalf("no error in %s", body)
			}
			if r.Error.Code != tc.code || r.Error.Message != codeMessages[tc.code] || !strings.Contains(r.Error.Data, tc.dataHas) {
				t.Errorf("error %+v, want code %d with %q", r.Error, tc.code, tc.dataHas)
			}
			if string(r.ID) != tc.id {
				t.Errorf("id %s, want %s", r.ID, tc.id)
			}
			if r.JSONRPC != "2.0" || r.Result != nil {
				t.Errorf("envelope %s", body)
			}
			assertHealthy(t, ts)
		})
	}
}

func TestPanicRecovered(t *testing.T) {
	ts := startServer(t, 2, nil)
	ts.be.mu.Lock()
	ts.be.panicIn = "status"
	ts.be.mu.Unlock()
	e := ts.callErr(t, "status", nil)
	if e.Code != CodeInternalError || !strings.Contains(e.Data, "status") {
		t.Errorf("panic gave %v", e)
	}
	// Over GET too, and the server keeps serving.
	m := ts.getURI(t, "/status")
	if code := jget(t, m, "error.code"); code != float64(CodeInternalError) {
		t.Errorf("GET /status after panic: %v", m)
	}
	assertHealthy(t, ts)
}

func TestNotification(t *testing.T) {
	ts := startServer(t, 1, nil)
	status, body := ts.post(t, `{"jsonrpc":"2.0","method":"health"}`)
	if status != http.StatusNoContent || len(body) != 0 {
		t.Errorf("notification: HTTP %d %q, want 204 and no body", status, body)
	}
}

func TestBatch(t *testing.T) {
	ts := startServer(t, 2, func(c *Config) { c.MaxBatchSize = 4 })
	status, body := ts.post(t, `[
		{"jsonrpc":"2.0","id":1,"method":"health"},
		{"jsonrpc":"2.0","id":2,"method":"block","params":["1"]},
		{"jsonrpc":"2.0","method":"health"},
		{"jsonrpc":"2.0","id":"three","method":"nope"}]`)
	if status != 200 {
		t.Fatalf("HTTP %d", status)
	}
	var rs []response
	if err := json.Unmarshal(body, &rs); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d responses, want 3 (the notification gets none): %s", len(rs), body)
	}
	if string(rs[0].ID) != "1" || string(rs[0].Result) != "{}" {
		t.Errorf("first: %+v", rs[0])
	}
	var blk any
	if err := json.Unmarshal(rs[1].Result, &blk); err != nil || jget(t, blk, "block.header.height") != "1" {
		t.Errorf("second: %s", rs[1].Result)
	}
	if string(rs[2].ID) != `"three"` || rs[2].Error == nil || rs[2].Error.Code != CodeMethodNotFound {
		t.Errorf("third: %+v", rs[2])
	}

	// Too large a batch is refused as a whole.
	_, body = ts.post(t, `[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","id":2,"method":"health"},
		{"jsonrpc":"2.0","id":3,"method":"health"},{"jsonrpc":"2.0","id":4,"method":"health"},{"jsonrpc":"2.0","id":5,"method":"health"}]`)
	if r := decodeResp(t, body); r.Error == nil || r.Error.Code != CodeInvalidRequest || !strings.Contains(r.Error.Data, "at most 4") {
		t.Errorf("oversized batch: %s", body)
	}
	// A malformed batch is a parse error.
	_, body = ts.post(t, `[{"jsonrpc":"2.0","id":1,"method":"health"},`)
	if r := decodeResp(t, body); r.Error == nil || r.Error.Code != CodeParseError {
		t.Errorf("malformed batch: %s", body)
	}
	// A batch of only notifications gets no body.
	if status, body := ts.post(t, `[{"jsonrpc":"2.0","method":"health"}]`); status != http.StatusNoContent || len(body) != 0 {
		t.Errorf("notification batch: %d %q", status, body)
	}
	// Batch members that are not requests get their own errors.
	_, body = ts.post(t, `[1, {"jsonrpc":"2.0","id":9,"method":"health"}]`)
	if err := json.Unmarshal(body, &rs); err != nil || len(rs) != 2 || rs[0].Error == nil || rs[0].Error.Code != CodeInvalidRequest || rs[1].Error != nil {
		t.Errorf("mixed batch: %s", body)
	}
}

func TestURIParams(t *testing.T) {
	ts := startServer(t, 2, nil)
	txHash := sha256Of("k2=v2")
	tests := []struct {
		path string
		want map[string]any
	}{
		{"/status", map[string]any{"id": -1.0, "result.sync_info.latest_block_height": "2"}},
		{"/block?height=1", map[string]any{"result.block.header.height": "1"}},
		{`/block?height="2"`, map[string]any{"result.block.header.height": "2"}},
		{"/block?height=", map[string]any{"result.block.header.height": "2"}},
		{"/tx?hash=0x" + upperHex(txHash), map[string]any{"result.height": "2", "result.tx": b64("k2=v2")}},
		{"/tx?hash=" + upperHex(txHash), map[string]any{"result.height": "2"}},
		{`/check_tx?tx="a=b"`, map[string]any{"result.code": 0.0}},
		{`/broadcast_tx_sync?tx="a=b"`, map[string]any{"result.hash": upperHex(sha256Of("a=b"))}},
		{"/broadcast_tx_sync?tx=0x633d64", map[string]any{"result.hash": upperHex(sha256Of("c=d"))}},
		{`/abci_query?path="/key"&data=0x6b31`, map[string]any{"result.response.value": b64("/key:k1")}},
		{`/tx_search?query="transfer.key='k1'"&page=1&per_page=5`, map[string]any{"result.total_count": "1"}},
		{`/validators?height=1&page=1&per_page=1`, map[string]any{"result.count": "1", "result.total": "3"}},
		{`/block?height=abc`, map[string]any{"error.code": float64(CodeInvalidParams)}},
		{`/broadcast_tx_sync?tx=a=b`, map[string]any{"error.code": float64(CodeInvalidParams), "id": -1.0}},
		{`/broadcast_tx_sync?tx=0xZZ`, map[string]any{"error.code": float64(CodeInvalidParams)}},
		{`/block?bogus=1`, map[string]any{"error.code": float64(CodeInvalidParams)}},
		{`/block?height=1&height=2`, map[string]any{"error.code": float64(CodeInvalidParams)}},
		{`/block?height=%zz`, map[string]any{"error.code": float64(CodeInvalidParams)}},
		{`/no_such_method`, map[string]any{"error.code": float64(CodeMethodNotFound)}},
		{`/subscribe?query="tm.event='Tx'"`, map[string]any{"error.code": float64(CodeMethodNotFound)}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			expect(t, ts.getURI(t, tc.path), tc.want)
		})
	}
	ts.be.mu.Lock()
	defer ts.be.mu.Unlock()
	if n := len(ts.be.mempool); n != 2 {
		t.Errorf("mempool has %d txs, want the 2 broadcast over GET", n)
	}
}

func TestIndexPage(t *testing.T) {
	ts := startServer(t, 1, nil)
	resp, err := http.Get(ts.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	buf := string(raw)
	for _, want := range []string{"/status\n", "/block?height=_\n", "/tx_search?query=_&prove=_"} {
		if !strings.Contains(buf, want) {
			t.Errorf("index lacks %q:\n%s", want, buf)
		}
	}
	if strings.Contains(buf, "/subscribe") {
		t.Error("index lists websocket-only methods")
	}
	req, _ := http.NewRequest(http.MethodPut, ts.url+"/", nil)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", resp2.StatusCode)
	}
}

func TestMaxOpenConnections(t *testing.T) {
	ts := startServer(t, 1, func(c *Config) { c.MaxOpenConnections = 1 })
	// Hold the only slot with an idle connection.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c, err := NewClient(ts.url, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "health", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second connection while the first is open: %v, want it to wait", err)
	}
	// Once the first closes, the next is served.
	conn.Close()
	if err := c.Call(context.Background(), "health", nil, nil); err != nil {
		t.Errorf("after the first closed: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.MaxBodyBytes = 0 },
		func(c *Config) { c.MaxBatchSize = 0 },
		func(c *Config) { c.MaxOpenConnections = -1 },
		func(c *Config) { c.MaxSubscriptionsPerClient = 0 },
		func(c *Config) { c.MaxQueryLength = 0 },
		func(c *Config) { c.TimeoutBroadcastTxCommit = 0 },
		func(c *Config) { c.MaxAsyncBroadcasts = 0 },
		func(c *Config) { c.TimeoutBroadcastTxCommit = c.WriteTimeout },
		func(c *Config) { c.ReadTimeout = 0 },
	}
	for i, mod := range bad {
		cfg := DefaultConfig()
		mod(&cfg)
		if _, err := NewServer(cfg, newFakeBackend(t, 0), nil); !errors.Is(err, ErrBadConfig) {
			t.Errorf("case %d: %v, want ErrBadConfig", i, err)
		}
	}
	if _, err := NewServer(DefaultConfig(), nil, nil); !errors.Is(err, ErrBadConfig) {
		t.Errorf("nil backend: %v", err)
	}
	for _, addr := range []string{"udp://x:1", "tcp://", ""} {
		if _, err := Listen(addr); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Listen(%q): %v", addr, err)
		}
	}
	if DefaultConfig().ListenAddress != "tcp://127.0.0.1:26657" {
		t.Error("default listen address changed")
	}
}

func TestCORS(t *testing.T) {
	ts := startServer(t, 1, func(c *Config) { c.CORSAllowedOrigins = []string{"https://app.example"} })
	req, _ := http.NewRequest(http.MethodOptions, ts.url+"/", nil)
	req.Header.Set("Origin", "https://app.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, ts.url+"/health", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header for a foreign origin")
	}
	if e := ts.callErr(t, "genesis_chunked", map[string]any{"chunk": 1}); e.Code != CodeInvalidParams {
		t.Errorf("chunk 1 of 1: %v", e)
	}
}
