package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bftnode/bftnode/rpc"
)

// wsWindow is how many broadcast requests one websocket connection has
// awaiting their response: pipelining them lets few connections carry a
// high rate, with far less work per tx than an HTTP request each, on the
// client and on the node.
const wsWindow = 64

func (r *runner) method() string {
	if r.o.Sync {
		return "broadcast_tx_sync"
	}
	return "broadcast_tx_async"
}

// pace waits until tx seq is due at the target rate and there is room for
// another pending tx; false if ctx ended.
func (r *runner) pace(ctx context.Context, t0 time.Time, seq uint64) bool {
	if r.o.MaxPending > 0 && !r.col.WaitRoom(ctx, r.o.MaxPending) {
		return false
	}
	if r.o.Rate <= 0 {
		return true
	}
	due := t0.Add(time.Duration(float64(seq) / r.o.Rate * float64(time.Second)))
	wait := due.Sub(r.o.Now())
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// submitHTTP sends txs with one HTTP request each until ctx ends.
func (r *runner) submitHTTP(ctx context.Context, t0 time.Time) {
	for ctx.Err() == nil {
		seq, tx := r.gen.Next()
		if !r.pace(ctx, t0, seq) {
			return
		}
		r.col.Sent(seq, r.o.Now())
		var res broadcastResult
		err := r.clients[seq%uint64(len(r.clients))].Call(ctx, r.method(), map[string][]byte{"tx": tx}, &res)
		switch {
		case err != nil && ctx.Err() != nil:
			r.col.Cancelled(seq)
			r.o.Logger.Debug("submission cut short", "seq", seq)
		case err != nil:
			r.failed(seq, err)
		default:
			r.checkResult(seq, res)
		}
	}
}

// overloadPhrases are the words of the error a node gives when it refuses
// a tx for overload: CometBFT's (and bftnode's) "mempool is full", and
// older bftnode's "mempool: full".
var overloadPhrases = []string{"mempool is full", "mempool: full"}

// isOverload reports whether err is a node's refusal for overload.
func isOverload(err error) bool {
	var e *rpc.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, p := range overloadPhrases {
		if strings.Contains(e.Message, p) || strings.Contains(e.Data, p) {
			return true
		}
	}
	return false
}

// failed records that the submission of tx seq got err: a refusal for
// overload, or an error.
func (r *runner) failed(seq uint64, err error) {
	if isOverload(err) {
		r.col.Refused(seq)
		r.o.Logger.Debug("tx refused for overload", "seq", seq, "err", err)
		return
	}
	r.col.Failed(seq)
	r.o.Logger.Debug("submission failed", "seq", seq, "err", err)
}

// broadcastResult is the part of a broadcast_tx_* result the bench reads.
type broadcastResult struct {
	Code uint32 `json:"code"`
	Log  string `json:"log"`
}

func (r *runner) checkResult(seq uint64, res broadcastResult) {
	if res.Code != 0 {
		r.col.Rejected(seq)
		r.o.Logger.Debug("tx refused", "seq", seq, "code", res.Code, "log", res.Log)
	}
}

// appendBroadcast appends a JSON-RPC request for method with tx, whose id
// is the tx's sequence number.
func appendBroadcast(b []byte, method string, seq uint64, tx []byte) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"method":"`...)
	b = append(b, method...)
	b = append(b, `","params":{"tx":"`...)
	b = base64.StdEncoding.AppendEncode(b, tx)
	return append(b, `"}}`...)
}

// wsGrace bounds the wait, once the load ends, for the answers to the
// requests in flight.
const wsGrace = 5 * time.Second

// dialAll opens n websockets to the urls in turn.
func dialAll(ctx context.Context, urls []string, n int) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		u := urls[i%len(urls)]
		conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, fmt.Errorf("bench: websocket %s for submissions: %w", u, err)
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

// submitWS sends txs over conn until loadCtx ends, with up to wsWindow
// requests awaiting their response, then waits (up to wsGrace, or until
// runCtx ends) for those answers and closes conn. Requests left without an
// answer count as cancelled, as with HTTP.
func (r *runner) submitWS(runCtx, loadCtx context.Context, t0 time.Time, conn *websocket.Conn) {
	p := &pipeline{r: r, conn: conn, slots: make(chan struct{}, wsWindow), waiting: make(map[uint64]struct{}, wsWindow)}
	readDone := make(chan struct{})
	go func() { defer close(readDone); p.readResponses() }()
	stop := context.AfterFunc(runCtx, func() { _ = conn.Close() })
	defer stop()
	method := r.method()
	var buf []byte
	unused := 0 // slots taken but not used for a request
loop:
	for {
		select {
		case p.slots <- struct{}{}:
		case <-readDone:
			break loop // the connection failed
		case <-loadCtx.Done():
			break loop
		}
		seq, tx := r.gen.Next()
		if !r.pace(loadCtx, t0, seq) {
			unused = 1
			break
		}
		p.mu.Lock()
		p.waiting[seq] = struct{}{}
		p.mu.Unlock()
		r.col.Sent(seq, r.o.Now())
		buf = appendBroadcast(buf[:0], method, seq, tx)
		if err := conn.WriteMessage(websocket.TextMessage, buf); err != nil {
			if runCtx.Err() == nil {
				r.o.Logger.Warn("bench: websocket submission failed", "err", err)
			}
			break
		}
	}
	// Once this loop holds every slot, every answer has come.
	grace, cancel := context.WithTimeout(runCtx, wsGrace)
	defer cancel()
wait:
	for range wsWindow - unused {
		select {
		case p.slots <- struct{}{}:
		case <-readDone:
			break wait
		case <-grace.Done():
			break wait
		}
	}
	_ = conn.Close()
	<-readDone
	p.endWaiting(loadCtx.Err() != nil)
}

// broadcastResponse is a response to a broadcast request.
type broadcastResponse struct {
	ID     *uint64         `json:"id"` // the tx's sequence number
	Result broadcastResult `json:"result"`
	Error  *rpc.Error      `json:"error"`
}

// parseBroadcastResponse reads a response. The usual one, a tx accepted
// ({"jsonrpc":"2.0","id":N,"result":{"code":0,…}, in the field order of
// CometBFT and bftnode), is read without encoding/json.
func parseBroadcastResponse(data []byte) (broadcastResponse, error) {
	if rest, ok := bytes.CutPrefix(data, []byte(`{"jsonrpc":"2.0","id":`)); ok {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if bytes.HasPrefix(rest[n:], []byte(`,"result":{"code":0,`)) {
			if id, err := strconv.ParseUint(string(rest[:n]), 10, 64); err == nil {
				return broadcastResponse{ID: &id}, nil
			}
		}
	}
	var m broadcastResponse
	err := json.Unmarshal(data, &m)
	return m, err
}

// pipeline is one websocket connection's submissions awaiting a response.
type pipeline struct {
	r     *runner
	conn  *websocket.Conn
	slots chan struct{} // one per request awaiting its response

	mu      sync.Mutex
	waiting map[uint64]struct{} // by sequence number
}

// readResponses matches responses to requests by id until the connection
// ends.
func (p *pipeline) readResponses() {
	for {
		_, data, err := p.conn.ReadMessage()
		if err != nil {
			p.r.o.Logger.Debug("websocket for submissions ended", "err", err)
			return
		}
		m, err := parseBroadcastResponse(data)
		if err != nil || m.ID == nil {
			p.r.o.Logger.Warn("bench: unexpected websocket message", "msg", string(data), "err", err)
			continue
		}
		seq := *m.ID
		p.mu.Lock()
		_, ok := p.waiting[seq]
		delete(p.waiting, seq)
		p.mu.Unlock()
		if !ok {
			continue
		}
		<-p.slots
		if m.Error != nil {
			p.r.failed(seq, m.Error)
			continue
		}
		p.r.checkResult(seq, m.Result)
	}
}

// endWaiting settles the requests left without a response: cancelled if
// the load ended, else rejected (the connection failed).
func (p *pipeline) endWaiting(loadEnded bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for seq := range p.waiting {
		if loadEnded {
			p.r.col.Cancelled(seq)
		} else {
			p.r.col.Failed(seq)
		}
	}
	clear(p.waiting)
}
