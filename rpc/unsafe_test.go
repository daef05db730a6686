package rpc

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// unsafeFake is the fake backend with the unsafe routes' hook.
type unsafeFake struct {
	*fakeBackend
	mu    sync.Mutex
	calls []time.Duration
}

func (u *unsafeFake) Disconnect(_ context.Context, d time.Duration) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, d)
	return nil
}

func (u *unsafeFake) disconnects() []time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Duration(nil), u.calls...)
}

// startUnsafeServer serves a server with Unsafe set to unsafe over a
// backend that implements UnsafeBackend.
func startUnsafeServer(t *testing.T, unsafe bool) (*testServer, *unsafeFake) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Unsafe = unsafe
	be := &unsafeFake{fakeBackend: newFakeBackend(t, 1)}
	srv, err := NewServer(cfg, be, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{srv: srv, be: be.fakeBackend, url: hs.URL}, be
}

func TestUnsafeDisconnectIsUnknownByDefault(t *testing.T) {
	if DefaultConfig().Unsafe {
		t.Fatal("Unsafe is on by default")
	}
	ts, be := startUnsafeServer(t, false)
	if e := ts.callErr(t, "unsafe_disconnect", map[string]any{"duration": "5s"}); e.Code != CodeMethodNotFound {
		t.Fatalf("got %v, want code %d", e, CodeMethodNotFound)
	}
	if m := ts.getURI(t, `/unsafe_disconnect?duration="5s"`); jget(t, m, "error.code") != float64(CodeMethodNotFound) {
		t.Fatalf("URI form: got %v", m)
	}
	if calls := be.disconnects(); len(calls) != 0 {
		t.Fatalf("hook called %v with the route off", calls)
	}
}

func TestUnsafeDisconnectCallsTheBackend(t *testing.T) {
	ts, be := startUnsafeServer(t, true)
	res := ts.call(t, "unsafe_disconnect", map[string]any{"duration": "1m30s"})
	expect(t, res, map[string]any{"duration": "1m30s", "until": func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		u, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && u.After(time.Now())
	}})
	if m := ts.getURI(t, `/unsafe_disconnect?duration="2s"`); jget(t, m, "result.duration") != "2s" {
		t.Fatalf("URI form: got %v", m)
	}
	if m := ts.getURI(t, `/unsafe_disconnect?duration=10m`); jget(t, m, "result.duration") != "10m0s" {
		t.Fatalf("URI form at the bound: got %v", m)
	}
	want := []time.Duration{90 * time.Second, 2 * time.Second, MaxDisconnect}
	calls := be.disconnects()
	if len(calls) != len(want) {
		t.Fatalf("hook calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("hook calls %v, want %v", calls, want)
		}
	}
}

func TestUnsafeDisconnectRejectsBadDurations(t *testing.T) {
	ts, be := startUnsafeServer(t, true)
	for _, params := range []any{
		nil,
		map[string]any{"duration": ""},
		map[string]any{"duration": "soon"},
		map[string]any{"duration": "5"},
		map[string]any{"duration": "0s"},
		map[string]any{"duration": "-1s"},
		map[string]any{"duration": "10m1s"},
		map[string]any{"duration": "1000h"},
		map[string]any{"duration": 5},
	} {
		if e := ts.callErr(t, "unsafe_disconnect", params); e.Code != CodeInvalidParams {
			t.Errorf("%v: got %v, want code %d", params, e, CodeInvalidParams)
		}
	}
	if calls := be.disconnects(); len(calls) != 0 {
		t.Fatalf("hook called %v for bad durations", calls)
	}
}

func TestUnsafeNeedsAnUnsafeBackend(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Unsafe = true
	if _, err := NewServer(cfg, newFakeBackend(t, 1), nil); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("got %v, want ErrBadConfig", err)
	}
}
