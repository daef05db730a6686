package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// ErrBadResponse is wrapped by Client errors for a response that is not
// valid JSON-RPC.
var ErrBadResponse = errors.New("bad rpc response")

// maxResponseBytes bounds a response the client reads.
const maxResponseBytes = 64 << 20

// Client calls a JSON-RPC server over HTTP POST.
type Client struct {
	url    string
	hc     *http.Client
	nextID atomic.Int64
}

// NewClient returns a client for addr: "tcp://host:port", "http://…",
// "https://…", "unix:///path", or a bare "host:port". A nil hc uses a
// default HTTP client (a unix address gets its own).
func NewClient(addr string, hc *http.Client) (*Client, error) {
	url := addr
	switch {
	case strings.HasPrefix(addr, "http://"), strings.HasPrefix(addr, "https://"):
	case strings.HasPrefix(addr, "unix://"):
		path := strings.TrimPrefix(addr, "unix://")
		if path == "" {
			return nil, fmt.Errorf("%w: empty unix socket path", ErrBadConfig)
		}
		url = "http://unix"
		if hc == nil {
			hc = &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "unix", path)
				},
			}}
		}
	default:
		_, hostport, err := SplitAddress(addr)
		if err != nil {
			return nil, err
		}
		url = "http://" + hostport
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{url: url, hc: hc}, nil
}

// Call invokes method with params (a struct or map encoded as a JSON
// object, or nil) and decodes the result into result (unless nil). An
// error response is returned as an *Error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	id := c.nextID.Add(1)
	req := struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int64  `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{"2.0", id, method, params}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("rpc: encode %s params: %w", method, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("rpc: %s: %w", method, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return fmt.Errorf("rpc: %s: %w", method, err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("rpc: %s: read response: %w", method, err)
	}
	var resp struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("%w: %s: HTTP %d: %w", ErrBadResponse, method, hresp.StatusCode, err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if string(resp.ID) != fmt.Sprint(id) {
		return fmt.Errorf("%w: %s: id %s, want %d", ErrBadResponse, method, resp.ID, id)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return fmt.Errorf("%w: %s: decode result: %w", ErrBadResponse, method, err)
	}
	return nil
}
