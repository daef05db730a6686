package bench

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeNode is a small JSON-RPC server in CometBFT's shapes: status,
// broadcast_tx_async/sync, block, and a websocket NewBlock subscription.
// Every interval it commits the txs received so far as a new block.
type fakeNode struct {
	t      *testing.T
	refuse func(tx []byte) bool // CheckTx code 1 (sync only; async still answers 0)
	fail   func(tx []byte) bool // a JSON-RPC error instead of a result
	// full returns, for a tx refused for overload, the data of the
	// JSON-RPC error ("" to take the tx).
	full     func(tx []byte) string
	skipWS   int // the nth event of a subscription is not sent (0: none)
	interval time.Duration

	mu         sync.Mutex
	height     int64
	pending    [][]byte
	blocks     map[int64][][]byte
	subs       []chan int64
	got        int // txs received
	refused    int // of which refused
	failed     int // of which answered with an error
	overloaded int // of which refused for overload
}

func newFakeNode(t *testing.T) *fakeNode {
	none := func([]byte) bool { return false }
	return &fakeNode{t: t, refuse: none, fail: none, full: func([]byte) string { return "" }, interval: 5 * time.Millisecond, height: 1,
		blocks: map[int64][][]byte{1: nil}}
}

func (f *fakeNode) start() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(f.interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				f.commit()
			}
		}
	}()
	f.t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

// commitEvery is how many pending txs make the fake node commit a block
// at once, without waiting for its timer: blocks then keep pace with the
// load even when a loaded machine delays the timer.
const commitEvery = 8

func (f *fakeNode) commit() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commitLocked()
}

func (f *fakeNode) commitLocked() {
	f.height++
	f.blocks[f.height] = f.pending
	f.pending = nil
	for _, s := range f.subs {
		select {
		case s <- f.height:
		default:
			f.t.Errorf("subscriber fell behind")
		}
	}
}

func blockJSONOf(h int64, txs [][]byte) map[string]any {
	enc := make([]string, len(txs))
	for i, tx := range txs {
		enc[i] = base64.StdEncoding.EncodeToString(tx)
	}
	return map[string]any{
		"header": map[string]any{"height": fmt.Sprint(h), "chain_id": "fake"},
		"data":   map[string]any{"txs": enc},
	}
}

func (f *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/websocket" {
		f.serveWS(w, r)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Tx     []byte `json:"tx"`
			Height string `json:"height"`
		} `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var result any
	f.mu.Lock()
	switch req.Method {
	case "status":
		result = map[string]any{"sync_info": map[string]any{"latest_block_height": fmt.Sprint(f.height)}}
	case "broadcast_tx_async", "broadcast_tx_sync":
		resp := f.broadcastLocked(req.ID, req.Method, req.Params.Tx)
		f.mu.Unlock()
		writeJSON(w, resp)
		return
	case "block":
		var h int64
		_, _ = fmt.Sscan(req.Params.Height, &h)
		txs, ok := f.blocks[h]
		if !ok {
			f.mu.Unlock()
			writeJSON(w, map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32603, "message": "no block"}})
			return
		}
		result = map[string]any{"block": blockJSONOf(h, txs)}
	default:
		f.mu.Unlock()
		writeJSON(w, map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
		return
	}
	f.mu.Unlock()
	writeJSON(w, map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// broadcastLocked takes a tx and returns the response to request id; f.mu
// must be held.
func (f *fakeNode) broadcastLocked(id json.RawMessage, method string, tx []byte) map[string]any {
	f.got++
	code := 0
	if f.fail(tx) {
		f.failed++
		return map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32603, "message": "Internal error"}}
	}
	if data := f.full(tx); data != "" {
		f.overloaded++
		return map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32603, "message": "Internal error", "data": data}}
	}
	if method == "broadcast_tx_sync" && f.refuse(tx) {
		code = 1
		f.refused++
	} else {
		f.pending = append(f.pending, tx)
	}
	if len(f.pending) >= commitEvery {
		f.commitLocked()
	}
	return map[string]any{"jsonrpc": "2.0", "id": id, "result": map[string]any{"code": code, "log": "", "hash": "00"}}
}

// serveWS answers JSON-RPC requests on a websocket, as CometBFT does:
// subscribe (to NewBlock only) and the broadcasts.
func (f *fakeNode) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	var wmu sync.Mutex
	write := func(v any) error {
		wmu.Lock()
		defer wmu.Unlock()
		return conn.WriteJSON(v)
	}
	heights := make(chan int64, 10000)
	subID := make(chan json.RawMessage, 1)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			var req struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params struct {
					Query string `json:"query"`
					Tx    []byte `json:"tx"`
				} `json:"params"`
			}
			if err := conn.ReadJSON(&req); err != nil {
				return
			}
			var resp map[string]any
			switch req.Method {
			case "subscribe":
				if req.Params.Query != NewBlockQuery {
					f.t.Errorf("bad subscribe request %+v", req)
					return
				}
				f.mu.Lock()
				f.subs = append(f.subs, heights)
				f.mu.Unlock()
				resp = map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{}}
			case "broadcast_tx_async", "broadcast_tx_sync":
				f.mu.Lock()
				resp = f.broadcastLocked(req.ID, req.Method, req.Params.Tx)
				f.mu.Unlock()
			default:
				f.t.Errorf("unexpected websocket request %+v", req)
				return
			}
			if err := write(resp); err != nil {
				return
			}
			if req.Method == "subscribe" {
				subID <- req.ID
			}
		}
	}()
	var id json.RawMessage
	select {
	case id = <-subID:
	case <-gone:
		return
	}
	for n := 1; ; n++ {
		var h int64
		select {
		case h = <-heights:
		case <-gone:
			return
		}
		if n == f.skipWS {
			continue
		}
		f.mu.Lock()
		txs := f.blocks[h]
		f.mu.Unlock()
		ev := map[string]any{"query": NewBlockQuery, "data": map[string]any{
			"type": "tendermint/event/NewBlock", "value": map[string]any{"block": blockJSONOf(h, txs)}}}
		if err := write(map[string]any{"jsonrpc": "2.0", "id": id, "result": ev}); err != nil {
			return
		}
	}
}
