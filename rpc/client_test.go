package rpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientCall(t *testing.T) {
	ts := startServer(t, 2, nil)
	c, err := NewClient("tcp://"+strings.TrimPrefix(ts.url, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		SyncInfo struct {
			LatestBlockHeight int64s `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := c.Call(context.Background(), "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.SyncInfo.LatestBlockHeight != 2 {
		t.Errorf("height %d", st.SyncInfo.LatestBlockHeight)
	}
	err = c.Call(context.Background(), "block", map[string]any{"height": "x"}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidParams {
		t.Errorf("bad params: %v", err)
	}
	if err := c.Call(context.Background(), "status", nil, new(int)); !errors.Is(err, ErrBadResponse) {
		t.Errorf("decoding into the wrong type: %v", err)
	}
}

func TestClientBadServer(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Content-Type"), "json") {
			_, _ = io.WriteString(w, `<html>not json</html>`)
		}
	}))
	defer hs.Close()
	c, err := NewClient(hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(context.Background(), "status", nil, nil); !errors.Is(err, ErrBadResponse) {
		t.Errorf("non-JSON: %v", err)
	}
	if _, err := NewClient("ftp://x", nil); !errors.Is(err, ErrBadConfig) {
		t.Errorf("ftp address: %v", err)
	}
	if _, err := NewClient("unix://", nil); !errors.Is(err, ErrBadConfig) {
		t.Errorf("empty unix path: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rpc.sock")
	cfg := DefaultConfig()
	cfg.ListenAddress = "unix://" + sock
	serve(t, cfg, newFakeBackend(t, 1))
	c, err := NewClient("unix://"+sock, nil)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := c.Call(context.Background(), "header", map[string]any{"height": 1}, &res); err != nil {
		t.Fatal(err)
	}
	expect(t, res, map[string]any{"header.height": "1"})
}
