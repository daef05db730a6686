package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Server serves the JSON-RPC API: POST / (single and batch requests),
// GET /<method>?<params> (URI form), and /websocket (requests plus event
// subscriptions).
type Server struct {
	cfg     Config
	backend Backend
	logger  *slog.Logger
	methods map[string]method
	mux     *http.ServeMux
	handler http.Handler // mux, behind CORS when configured

	bgCtx      context.Context // ends when Serve returns; bounds async work
	bgCancel   context.CancelFunc
	async      sync.WaitGroup
	asyncSlots chan struct{}

	wsMu      sync.Mutex
	wsConns   map[*wsConn]struct{}
	wsSubbers int // websocket connections holding a subscription
}

// NewServer builds a server over backend. A nil logger discards logs.
func NewServer(cfg Config, backend Backend, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if backend == nil {
		return nil, fmt.Errorf("%w: nil backend", ErrBadConfig)
	}
	if _, ok := backend.(UnsafeBackend); cfg.Unsafe && !ok {
		return nil, fmt.Errorf("%w: Unsafe is set but the backend has no unsafe routes (UnsafeBackend)", ErrBadConfig)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, backend: backend, logger: logger,
		asyncSlots: make(chan struct{}, cfg.MaxAsyncBroadcasts),
		wsConns:    make(map[*wsConn]struct{}),
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	s.methods = s.methodTable()
	if cfg.Unsafe {
		s.unsafeMethods(s.methods)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/websocket", s.serveWebsocket)
	if cfg.UI != nil {
		s.mux.Handle("/ui/", cfg.UI)
	}
	s.mux.HandleFunc("/", s.serveHTTP)
	s.handler = s.mux
	if len(cfg.CORSAllowedOrigins) > 0 {
		s.handler = s.cors(s.mux)
	}
	return s, nil
}

// Handler returns the server's HTTP handler, for tests or embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// cors answers preflight requests and marks responses to allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := false
		for _, o := range s.cfg.CORSAllowedOrigins {
			if o == "*" || (origin != "" && o == origin) {
				allowed = true
				break
			}
		}
		if origin != "" && allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "HEAD, GET, POST")
				w.Header().Set("Access-Control-Allow-Headers", "Origin, Accept, Content-Type, X-Requested-With, X-Server-Time")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Serve serves on l until ctx ends, then shuts down: it stops accepting,
// closes websocket connections, waits up to five seconds for requests in
// flight, and returns nil. It closes l. At most MaxOpenConnections
// connections are served at once; more wait to be accepted. A Server
// serves once: after Serve returns, build a new one.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.cfg.MaxOpenConnections > 0 {
		l = newLimitListener(l, s.cfg.MaxOpenConnections)
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.bgCtx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	s.logger.Info("rpc server listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		s.stop()
		return fmt.Errorf("rpc: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.stop()
	err := hs.Shutdown(shutCtx)
	<-errc
	s.async.Wait()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("rpc: shutdown: %w", err)
	}
	return nil
}

// stop cancels background work and closes websocket connections.
func (s *Server) stop() {
	s.bgCancel()
	s.wsMu.Lock()
	conns := make([]*wsConn, 0, len(s.wsConns))
	for c := range s.wsConns {
		conns = append(conns, c)
	}
	s.wsMu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// serveHTTP handles POST / (JSON-RPC), GET /<method> (URI form) and GET /
// (the list of methods).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/":
		s.servePost(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/":
		s.serveIndex(w)
	case r.Method == http.MethodGet:
		s.serveURI(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse(nil, newError(CodeInvalidRequest, "method %s not allowed", r.Method)))
	}
}

func (s *Server) serveIndex(w http.ResponseWriter) {
	var b strings.Builder
	b.WriteString("Available endpoints:\n")
	for _, name := range sortedKeys(s.methods) {
		m := s.methods[name]
		if m.wsOnly {
			continue
		}
		fmt.Fprintf(&b, "/%s", name)
		if len(m.params) > 0 {
			b.WriteString("?" + strings.Join(m.params, "=_&") + "=_")
		}
		b.WriteByte('\n')
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, b.String())
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorResponse(nil,
				newError(CodeInvalidRequest, "request body larger than %d bytes", s.cfg.MaxBodyBytes)))
			return
		}
		writeJSON(w, http.StatusBadRequest, errorResponse(nil, newError(CodeParseError, "reading body: %v", err)))
		return
	}
	out, status := s.handleMessage(r.Context(), body)
	if out == nil {
		w.WriteHeader(http.StatusNoContent) // notifications only
		return
	}
	writeJSON(w, status, out)
}

// handleMessage runs a JSON-RPC message (one request or a batch) and
// returns what to send back (nil for notifications only).
func (s *Server) handleMessage(ctx context.Context, body []byte) (any, int) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var batch []json.RawMessage
		if err := json.Unmarshal(body, &batch); err != nil {
			return errorResponse(nil, newError(CodeParseError, "%v", err)), http.StatusOK
		}
		switch {
		case len(batch) == 0:
			return errorResponse(nil, newError(CodeInvalidRequest, "empty batch")), http.StatusOK
		case len(batch) > s.cfg.MaxBatchSize:
			return errorResponse(nil, newError(CodeInvalidRequest, "batch of %d requests, at most %d allowed", len(batch), s.cfg.MaxBatchSize)), http.StatusOK
		}
		var out []response
		for _, raw := range batch {
			if resp, ok := s.handleOne(ctx, raw, nil); ok {
				out = append(out, resp)
			}
		}
		if out == nil {
			return nil, http.StatusOK
		}
		return out, http.StatusOK
	}
	resp, ok := s.handleOne(ctx, body, nil)
	if !ok {
		return nil, http.StatusOK
	}
	return resp, http.StatusOK
}

// handleOne decodes and runs one request. ok is false for a notification.
// ws is the websocket connection the request came on, nil for HTTP.
func (s *Server) handleOne(ctx context.Context, raw []byte, ws *wsConn) (resp response, ok bool) {
	c, resp, ok := s.prepare(raw, ws)
	if c == nil {
		return resp, ok
	}
	return s.run(ctx, c)
}

// prepared is a decoded request ready to run.
type prepared struct {
	req request
	fn  handlerFunc
	a   *args
	ws  bool // a websocket-only method (subscriptions)
}

// prepare decodes a request. When it cannot run, prepare returns nil and
// the answer (ok is false for a notification).
func (s *Server) prepare(raw []byte, ws *wsConn) (c *prepared, resp response, ok bool) {
	req, fast := parseRequestFast(raw)
	if !fast {
		var err *Error
		if req, err = decodeRequest(raw); err != nil {
			return nil, errorResponse(nil, err), true
		}
	}
	if !validID(req.ID) {
		return nil, errorResponse(nil, newError(CodeInvalidRequest, "id must be a string, a number or null")), true
	}
	if req.JSONRPC != "2.0" {
		return nil, errorResponse(req.ID, newError(CodeInvalidRequest, `jsonrpc must be "2.0"`)), !req.isNotification()
	}
	m, found := s.methods[req.Method]
	if !found || (m.wsOnly && ws == nil) {
		e := newError(CodeMethodNotFound, "method %q not found", req.Method)
		if found {
			e = newError(CodeMethodNotFound, "method %q is only available over the websocket", req.Method)
		}
		return nil, errorResponse(req.ID, e), !req.isNotification()
	}
	a, err := parseJSONParams(req.Params, m.params)
	if err != nil {
		return nil, errorResponse(req.ID, toError(err)), !req.isNotification()
	}
	fn := m.fn
	if m.wsOnly {
		fn = ws.handler(req.Method, req.ID)
	}
	return &prepared{req: req, fn: fn, a: a, ws: m.wsOnly}, response{}, false
}

// run runs a prepared request. ok is false for a notification.
func (s *Server) run(ctx context.Context, c *prepared) (resp response, ok bool) {
	result, rpcErr := s.call(ctx, c.req.Method, c.fn, c.a)
	if c.req.isNotification() {
		return response{}, false
	}
	if rpcErr != nil {
		return errorResponse(c.req.ID, rpcErr), true
	}
	return response{JSONRPC: "2.0", ID: c.req.ID, Result: result}, true
}

// decodeRequest reads a request with encoding/json, the general path
// behind parseRequestFast.
func decodeRequest(raw []byte) (request, *Error) {
	var req request
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return req, newError(CodeInvalidRequest, "%v", err)
		}
		return req, newError(CodeParseError, "%v", err)
	}
	if dec.More() {
		return req, newError(CodeParseError, "trailing data after the request")
	}
	return req, nil
}

// call runs a handler, turning its error or panic into a JSON-RPC error
// and its result into JSON.
func (s *Server) call(ctx context.Context, name string, fn handlerFunc, a *args) (result json.RawMessage, rpcErr *Error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("rpc handler panicked", "method", name, "panic", p, "stack", string(debug.Stack()))
			result, rpcErr = nil, newError(CodeInternalError, "internal error in %s", name)
		}
	}()
	v, err := fn(ctx, a)
	if err != nil {
		s.logger.Debug("rpc call failed", "method", name, "err", err)
		return nil, toError(err)
	}
	if ap, ok := v.(jsonAppender); ok {
		return ap.appendJSON(nil), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, newError(CodeInternalError, "encoding result of %s: %v", name, err)
	}
	return b, nil
}

// serveURI handles GET /<method>?name=value…, CometBFT's URI form: numbers
// bare, strings quoted, bytes quoted or 0x-hex.
func (s *Server) serveURI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	id := json.RawMessage(`-1`)
	m, found := s.methods[name]
	if !found || m.wsOnly {
		writeJSON(w, http.StatusNotFound, errorResponse(id, newError(CodeMethodNotFound, "method %q not found", name)))
		return
	}
	q, err := parseQueryString(r.URL.RawQuery)
	if err != nil {
		writeJSON(w, http.StatusOK, errorResponse(id, newError(CodeInvalidParams, "%v", err)))
		return
	}
	a, err := parseURIParams(q, m.params)
	if err != nil {
		writeJSON(w, http.StatusOK, errorResponse(id, toError(err)))
		return
	}
	result, rpcErr := s.call(r.Context(), name, m.fn, a)
	if rpcErr != nil {
		writeJSON(w, http.StatusOK, errorResponse(id, rpcErr))
		return
	}
	writeJSON(w, http.StatusOK, response{JSONRPC: "2.0", ID: id, Result: result})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeResponse(v)
	if err != nil {
		// Our response types always encode; this is a broken invariant.
		b, status = []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
