package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  map[string]any  `json:"params"`
}

// fakeNode answers JSON-RPC calls with canned results and records the requests.
type fakeNode struct {
	mu       sync.Mutex
	requests []rpcRequest
	results  map[string]string // method -> result JSON, or "error:<message>"
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req rpcRequest
	if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil || req.JSONRPC != "2.0" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	res := f.results[req.Method]
	f.mu.Unlock()
	if msg, ok := strings.CutPrefix(res, "error:"); ok {
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(req.ID)+`,"error":{"code":-32603,"message":"Internal error","data":"`+msg+`"}}`)
		return
	}
	_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(req.ID)+`,"result":`+res+`}`)
}

func (f *fakeNode) last(t *testing.T) rpcRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("no request reached the node")
	}
	return f.requests[len(f.requests)-1]
}

func startFake(t *testing.T, results map[string]string) (*fakeNode, string) {
	t.Helper()
	f := &fakeNode{results: results}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func TestTxModes(t *testing.T) {
	ok := `{"code":0,"hash":"AB"}`
	f, url := startFake(t, map[string]string{
		"broadcast_tx_commit": `{"check_tx":{"code":0},"tx_result":{"code":0},"hash":"AB","height":"5"}`,
		"broadcast_tx_sync":   ok,
		"broadcast_tx_async":  ok,
	})
	for _, c := range []struct {
		flags  []string
		method string
	}{
		{nil, "broadcast_tx_commit"},
		{[]string{"--sync"}, "broadcast_tx_sync"},
		{[]string{"--async"}, "broadcast_tx_async"},
	} {
		r := runCLI(t, nil, append(append([]string{"tx", "foo=bar", "--node", url}, c.flags...), "--timeout", "1m")...)
		if r.code != 0 {
			t.Fatalf("tx %v: exit %d: %s", c.flags, r.code, r.stderr)
		}
		req := f.last(t)
		if req.Method != c.method {
			t.Errorf("tx %v called %s, want %s", c.flags, req.Method, c.method)
		}
		if tx, _ := req.Params["tx"].(string); tx != base64.StdEncoding.EncodeToString([]byte("foo=bar")) {
			t.Errorf("tx param %v", req.Params["tx"])
		}
		if !strings.Contains(r.stdout, `"hash": "AB"`) {
			t.Errorf("stdout: %s", r.stdout)
		}
	}
	if r := runCLI(t, nil, "tx", "x", "--sync", "--async", "--node", url); r.code == 0 {
		t.Error("--sync --async accepted")
	}
}

func TestTxRejectedAndRPCErrors(t *testing.T) {
	_, url := startFake(t, map[string]string{
		"broadcast_tx_commit": `{"check_tx":{"code":1,"log":"empty key"},"tx_result":{"code":0},"hash":"AB","height":"0"}`,
		"status":              "error:node is stopping",
	})
	r := runCLI(t, nil, "tx", "=x", "--node", url)
	if r.code != exitError || !strings.Contains(r.stderr, "check_tx code 1") || !strings.Contains(r.stderr, "empty key") {
		t.Fatalf("rejected tx: exit %d, %s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "status", "--node", url)
	if r.code != exitError || !strings.Contains(r.stderr, "node is stopping") {
		t.Fatalf("rpc error: exit %d, %s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "status", "--node", "ftp://127.0.0.1:26657")
	if r.code != exitError || !strings.Contains(r.stderr, "--node") {
		t.Fatalf("bad --node: exit %d, %s", r.code, r.stderr)
	}
	// Nothing listens on a closed server's address.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	r = runCLI(t, nil, "status", "--node", srv.URL)
	if r.code != exitError || !strings.Contains(r.stderr, "cannot reach the node") {
		t.Fatalf("unreachable: exit %d, %s", r.code, r.stderr)
	}
}

func TestQueryAndStatus(t *testing.T) {
	value := base64.StdEncoding.EncodeToString([]byte("bar"))
	f, url := startFake(t, map[string]string{
		"abci_query": `{"response":{"code":0,"key":"Zm9v","value":"` + value + `","height":"9"}}`,
		"status":     `{"sync_info":{"latest_block_height":"12"}}`,
	})
	r := mustRun(t, "query", "foo", "--node", url)
	if strings.TrimSpace(r.stdout) != "foo=bar (height 9)" {
		t.Fatalf("query: %q", r.stdout)
	}
	if req := f.last(t); req.Method != "abci_query" || req.Params["data"] != "666f6f" {
		t.Fatalf("query request %+v", req)
	}
	r = mustRun(t, "status", "--node", url)
	if !strings.Contains(r.stdout, `"latest_block_height": "12"`) {
		t.Fatalf("status: %s", r.stdout)
	}

	_, url = startFake(t, map[string]string{"abci_query": `{"response":{"code":0,"height":"9"}}`})
	if r := mustRun(t, "query", "nope", "--node", url); !strings.Contains(r.stdout, "nope: not found") {
		t.Fatalf("absent key: %q", r.stdout)
	}
}
