package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// rpcClient calls the node's JSON-RPC for the tx, query and status commands.
type rpcClient struct {
	node string
	c    *rpc.Client
}

func newRPCClient(node string, timeout time.Duration) (*rpcClient, error) {
	c, err := rpc.NewClient(node, &http.Client{Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("--node %q: %w (want e.g. http://127.0.0.1:26657)", node, err)
	}
	return &rpcClient{node: node, c: c}, nil
}

// call invokes method with params and returns the raw result.
func (c *rpcClient) call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	var res json.RawMessage
	err := c.c.Call(ctx, method, params, &res)
	var rpcErr *rpc.Error
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &rpcErr), errors.Is(err, rpc.ErrBadResponse):
		return nil, fmt.Errorf("%s at %s: %w", method, c.node, err)
	default:
		return nil, fmt.Errorf("cannot reach the node at %s (is it running? see --node): %w", c.node, err)
	}
}
