package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// testServer runs a Server over a fake backend on a loopback listener
// until the test ends.
type testServer struct {
	srv *Server
	be  *fakeBackend
	url string // http://127.0.0.1:port
}

func startServer(t *testing.T, heights int, mod func(*Config)) *testServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListenAddress = "tcp://127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	be := newFakeBackend(t, heights)
	srv, addr, _ := serve(t, cfg, be)
	return &testServer{srv: srv, be: be, url: "http://" + addr}
}

// serve runs a Server with cfg over be on a listener at cfg.ListenAddress
// and returns it with the listener's address. It serves until stop, which
// returns Serve's error the first time (nil after), or the test's end,
// which reports that error.
func serve(tb testing.TB, cfg Config, be Backend) (srv *Server, addr string, stop func() error) {
	tb.Helper()
	srv, err := NewServer(cfg, be, nil)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := Listen(cfg.ListenAddress)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	var once sync.Once
	stop = func() (err error) {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return srv, l.Addr().String(), stop
}

// post sends body to the server and returns the HTTP status and body.
func (ts *testServer) post(t *testing.T, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(ts.url+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// getURI sends GET path?query and decodes the JSON-RPC response.
func (ts *testServer) getURI(t *testing.T, pathAndQuery string) map[string]any {
	t.Helper()
	resp, err := http.Get(ts.url + pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %v", pathAndQuery, err)
	}
	return m
}

// call runs method with params over POST and returns its result, failing
// the test on an error response.
func (ts *testServer) call(t *testing.T, method string, params any) any {
	t.Helper()
	c, err := NewClient(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var result any
	if err := c.Call(context.Background(), method, params, &result); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return result
}

// callErr runs method and returns its JSON-RPC error, failing the test if
// it succeeded.
func (ts *testServer) callErr(t *testing.T, method string, params any) *Error {
	t.Helper()
	c, err := NewClient(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), method, params, nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %v, want a JSON-RPC error", method, err)
	}
	return e
}

// jget walks a decoded JSON value along a dotted path ("a.b.0.c").
func jget(t *testing.T, v any, path string) any {
	t.Helper()
	cur := v
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[part]
			if !ok {
				t.Fatalf("path %q: no key %q in %v", path, part, keys(c))
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				t.Fatalf("path %q: bad index %q into %d elements", path, part, len(c))
			}
			cur = c[i]
		default:
			t.Fatalf("path %q: cannot descend into %T at %q", path, cur, part)
		}
	}
	return cur
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// expect checks each path of v against its wanted value: a string, a
// float64 (JSON number), a bool, nil, or a func(any) bool.
func expect(t *testing.T, v any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		got := jget(t, v, path)
		if f, ok := w.(func(any) bool); ok {
			if !f(got) {
				t.Errorf("%s = %#v: check failed", path, got)
			}
			continue
		}
		if got != w {
			t.Errorf("%s = %#v (%T), want %#v (%T)", path, got, got, w, w)
		}
	}
}

// isUpperHex reports whether v is a string of n upper-case hex bytes.
func isUpperHex(n int) func(any) bool {
	return func(v any) bool {
		s, ok := v.(string)
		return ok && len(s) == 2*n && s == strings.ToUpper(s) && strings.Trim(s, "0123456789ABCDEF") == ""
	}
}

func isArrayLen(n int) func(any) bool {
	return func(v any) bool {
		a, ok := v.([]any)
		return ok && len(a) == n
	}
}
