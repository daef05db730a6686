package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
)

// wsOutBuffer is how many messages a websocket connection queues for its
// writer before senders wait.
const wsOutBuffer = 100

// wsInFlight is how many requests of one websocket connection run at once.
// The read loop stops reading while that many run, so a client that sends
// faster than the node answers, or reads answers slowly, is held back by
// its socket instead of growing the node's memory.
const wsInFlight = 64

// wsConn is one websocket client: a read loop starting requests (up to
// wsInFlight run at once, each answered when done, with its id;
// subscription requests run in order in the read loop), a writer goroutine,
// and one forwarding goroutine per subscription.
type wsConn struct {
	s        *Server
	conn     *websocket.Conn
	out      chan any
	ctx      context.Context
	cancel   context.CancelFunc
	slots    chan struct{} // one per request running
	inFlight sync.WaitGroup

	mu      sync.Mutex
	subs    map[string]context.CancelFunc // by query string
	counted bool                          // counted in Server.wsSubbers
	pending func()                        // starts a new subscription after its ack is queued
}

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.logger.Debug("websocket upgrade failed", "err", err)
		return // Upgrade has answered with an HTTP error
	}
	c := &wsConn{s: s, conn: conn, out: make(chan any, wsOutBuffer), slots: make(chan struct{}, wsInFlight), subs: make(map[string]context.CancelFunc)}
	c.ctx, c.cancel = context.WithCancel(s.bgCtx)
	s.wsMu.Lock()
	s.wsConns[c] = struct{}{}
	s.wsMu.Unlock()
	defer func() {
		c.close()
		c.unsubscribeAll()
		s.wsMu.Lock()
		delete(s.wsConns, c)
		s.wsMu.Unlock()
	}()
	done := make(chan struct{})
	go func() { defer close(done); c.writeLoop() }()
	c.readLoop()
	c.cancel()
	c.inFlight.Wait()
	<-done
}

// close ends the connection: the read loop's next read fails.
func (c *wsConn) close() {
	c.cancel()
	_ = c.conn.Close()
}

func (c *wsConn) readLoop() {
	pingWait := 2 * c.s.cfg.WebsocketPingPeriod
	c.conn.SetReadLimit(c.s.cfg.MaxBodyBytes)
	_ = c.conn.SetReadDeadline(time.Now().Add(pingWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pingWait)) })
	for {
		typ, msg, err := c.conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) && c.ctx.Err() == nil {
				c.s.logger.Debug("websocket read failed", "err", err)
			}
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pingWait))
		if typ != websocket.TextMessage {
			continue
		}
		if b := bytes.TrimSpace(msg); len(b) > 0 && b[0] == '[' {
			c.send(errorResponse(nil, newError(CodeInvalidRequest, "batches are not supported over the websocket")))
			continue
		}
		p, resp, ok := c.s.prepare(msg, c)
		switch {
		case p == nil:
			if ok {
				c.send(resp)
			}
		case p.ws:
			c.runSubscription(p)
		default:
			select {
			case c.slots <- struct{}{}:
			case <-c.ctx.Done():
				return
			}
			c.inFlight.Add(1)
			go func() {
				defer func() { <-c.slots; c.inFlight.Done() }()
				if resp, ok := c.s.run(c.ctx, p); ok {
					c.send(resp)
				}
			}()
		}
	}
}

// runSubscription runs a subscription request in the read loop, so that
// subscription requests take effect in the order sent, and starts a new
// subscription's events once its answer is queued.
func (c *wsConn) runSubscription(p *prepared) {
	if resp, ok := c.s.run(c.ctx, p); ok {
		c.send(resp)
	}
	c.mu.Lock()
	start := c.pending
	c.pending = nil
	c.mu.Unlock()
	if start != nil {
		start()
	}
}

func (c *wsConn) writeLoop() {
	ping := time.NewTicker(c.s.cfg.WebsocketPingPeriod)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			_ = c.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
				c.close()
				return
			}
		case v := <-c.out:
			b, err := encodeResponse(v)
			if err != nil {
				c.s.logger.Error("websocket message does not encode", "err", err)
				continue
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
			// A newline ends each message, as gorilla's WriteJSON does.
			if err := c.conn.WriteMessage(websocket.TextMessage, append(b, '\n')); err != nil {
				c.s.logger.Debug("websocket write failed", "err", err)
				c.close()
				return
			}
		}
	}
}

// send queues v for the writer; it gives up when the connection ends.
func (c *wsConn) send(v any) {
	select {
	case c.out <- v:
	case <-c.ctx.Done():
	}
}

// handler returns the handler of a subscription method for request id.
func (c *wsConn) handler(name string, id json.RawMessage) handlerFunc {
	switch name {
	case "subscribe":
		return func(_ context.Context, a *args) (any, error) { return c.subscribe(a, id) }
	case "unsubscribe":
		return func(_ context.Context, a *args) (any, error) { return c.unsubscribe(a) }
	default:
		return func(context.Context, *args) (any, error) {
			if c.unsubscribeAll() == 0 {
				return nil, errors.New("subscription not found")
			}
			return struct{}{}, nil
		}
	}
}

func (c *wsConn) queryArg(a *args) (*query.Query, error) {
	qs, err := a.String("query", "")
	if err != nil {
		return nil, err
	}
	if qs == "" {
		return nil, badParam("query", "missing")
	}
	if len(qs) > c.s.cfg.MaxQueryLength {
		return nil, badParam("query", "longer than %d bytes", c.s.cfg.MaxQueryLength)
	}
	q, err := query.Parse(qs)
	if err != nil {
		return nil, badParam("query", "%v", err)
	}
	return q, nil
}

func (c *wsConn) subscribe(a *args, id json.RawMessage) (any, error) {
	q, err := c.queryArg(a)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.subs[q.String()]; dup {
		return nil, errors.New("already subscribed")
	}
	if len(c.subs) >= c.s.cfg.MaxSubscriptionsPerClient {
		return nil, newError(CodeServerError, "max_subscriptions_per_client %d reached", c.s.cfg.MaxSubscriptionsPerClient)
	}
	if !c.counted {
		c.s.wsMu.Lock()
		full := c.s.wsSubbers >= c.s.cfg.MaxSubscriptionClients
		if !full {
			c.s.wsSubbers++
		}
		c.s.wsMu.Unlock()
		if full {
			return nil, newError(CodeServerError, "max_subscription_clients %d reached", c.s.cfg.MaxSubscriptionClients)
		}
		c.counted = true
	}
	subCtx, cancel := context.WithCancel(c.ctx)
	events, err := c.s.backend.Subscribe(subCtx, q)
	if err != nil {
		cancel()
		return nil, err
	}
	c.subs[q.String()] = cancel
	c.pending = func() { go c.forward(subCtx, q, id, events) }
	return struct{}{}, nil
}

// forward sends a subscription's events to the client; when the source
// cancels the subscription (the client fell behind), it tells the client.
func (c *wsConn) forward(ctx context.Context, q *query.Query, id json.RawMessage, events <-chan eventbus.Event) {
	for ev := range events {
		b, err := encodeEvent(q, ev)
		if err != nil {
			c.send(errorResponse(id, newError(CodeInternalError, "encoding event: %v", err)))
			continue
		}
		c.send(response{JSONRPC: "2.0", ID: id, Result: b})
	}
	if ctx.Err() != nil {
		return // unsubscribed or disconnected
	}
	c.mu.Lock()
	if cancel, ok := c.subs[q.String()]; ok {
		cancel()
		delete(c.subs, q.String())
		c.uncountIfEmptyLocked()
	}
	c.mu.Unlock()
	c.send(errorResponse(id, newError(CodeServerError,
		"subscription was cancelled (reason: client is not pulling messages fast enough)")))
}

func (c *wsConn) unsubscribe(a *args) (any, error) {
	q, err := c.queryArg(a)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cancel, ok := c.subs[q.String()]
	if !ok {
		return nil, errors.New("subscription not found")
	}
	cancel()
	delete(c.subs, q.String())
	c.uncountIfEmptyLocked()
	return struct{}{}, nil
}

// unsubscribeAll cancels every subscription and returns how many there were.
func (c *wsConn) unsubscribeAll() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.subs)
	for k, cancel := range c.subs {
		cancel()
		delete(c.subs, k)
	}
	c.uncountIfEmptyLocked()
	return n
}

// uncountIfEmptyLocked stops counting this connection as a subscription
// client once it has no subscription left. c.mu must be held.
func (c *wsConn) uncountIfEmptyLocked() {
	if c.counted && len(c.subs) == 0 {
		c.s.wsMu.Lock()
		c.s.wsSubbers--
		c.s.wsMu.Unlock()
		c.counted = false
	}
}
