package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// errRPC wraps an error object returned by the node's JSON-RPC.
var errRPC = errors.New("RPC error")

// rpcClient is a minimal JSON-RPC 2.0 client over HTTP POST for the tx,
// query and status commands.
type rpcClient struct {
	url  string
	http *http.Client
}

func newRPCClient(node string, timeout time.Duration) (*rpcClient, error) {
	u := strings.TrimSpace(node)
	switch {
	case strings.HasPrefix(u, "tcp://"):
		u = "http://" + strings.TrimPrefix(u, "tcp://")
	case strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"):
	default:
		return nil, fmt.Errorf("--node %q: want http://host:port (e.g. http://127.0.0.1:26657)", node)
	}
	return &rpcClient{url: u, http: &http.Client{Timeout: timeout}}, nil
}

type rpcRequest struct {
	JSONRPC string         `json:"jsonrpc"`
	ID      int            `json:"id"`
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

// call invokes method with params and returns the raw result.
func (c *rpcClient) call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: 1, Method: method, Params: params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot reach the node at %s (is it running? see --node): %w", method, c.url, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read fully below
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the response: %w", method, err)
	}
	var r rpcResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, not a JSON-RPC response: %.200s", method, resp.StatusCode, data)
	}
	if r.Error != nil {
		msg := r.Error.Message
		if r.Error.Data != "" {
			msg += ": " + r.Error.Data
		}
		return nil, fmt.Errorf("%w from %s: %s (code %d)", errRPC, method, msg, r.Error.Code)
	}
	return r.Result, nil
}
