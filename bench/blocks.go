package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bftnode/bftnode/rpc"
)

// ErrBadBlock is wrapped by errors about block JSON that cannot be read.
var ErrBadBlock = errors.New("bench: bad block data")

// NewBlockQuery is the subscription query for committed blocks.
const NewBlockQuery = "tm.event='NewBlock'"

// blockJSON is the part of a CometBFT block view the benchmark reads.
type blockJSON struct {
	Header struct {
		Height int64 `json:"height,string"`
	} `json:"header"`
	Data struct {
		Txs [][]byte `json:"txs"` // base64 in JSON
	} `json:"data"`
	LastCommit *struct {
		Round int32 `json:"round"`
	} `json:"last_commit"`
}

// lastCommitRound is the round in which the previous height was decided.
func (b *blockJSON) lastCommitRound() int32 {
	if b.LastCommit == nil {
		return 0
	}
	return b.LastCommit.Round
}

// parseBlock reads the result of the `block` method ({"block": …}); the
// returned Block has no Received time.
func parseBlock(raw json.RawMessage) (Block, error) {
	var r struct {
		Block *blockJSON `json:"block"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return Block{}, fmt.Errorf("%w: %v", ErrBadBlock, err)
	}
	if r.Block == nil || r.Block.Header.Height <= 0 {
		return Block{}, fmt.Errorf("%w: no block or no height", ErrBadBlock)
	}
	return Block{Height: r.Block.Header.Height, Txs: r.Block.Data.Txs, LastCommitRound: r.Block.lastCommitRound()}, nil
}

// newBlockMessage is a message of a NewBlock subscription: a response (the
// acknowledgement, or an error) or an event. Reading it into one nested
// struct scans the large event once, not once per level.
type newBlockMessage struct {
	Error  *rpc.Error `json:"error"`
	Result struct {
		Data *struct {
			Type  string `json:"type"`
			Value struct {
				Block *blockJSON `json:"block"`
			} `json:"value"`
		} `json:"data"`
	} `json:"result"`
}

// parseNewBlockMessage reads a websocket message of a NewBlock
// subscription; ok is false for a message that is not a NewBlock event
// (the empty result acknowledging the subscription). An error response is
// returned as its *rpc.Error.
func parseNewBlockMessage(data []byte) (b Block, ok bool, err error) {
	var m newBlockMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return Block{}, false, fmt.Errorf("%w: %v", ErrBadBlock, err)
	}
	if m.Error != nil {
		return Block{}, false, m.Error
	}
	if d := m.Result.Data; d == nil || d.Type != "tendermint/event/NewBlock" {
		return Block{}, false, nil
	}
	blk := m.Result.Data.Value.Block
	if blk == nil || blk.Header.Height <= 0 {
		return Block{}, false, fmt.Errorf("%w: no block or no height", ErrBadBlock)
	}
	return Block{Height: blk.Header.Height, Txs: blk.Data.Txs, LastCommitRound: blk.lastCommitRound()}, true, nil
}

// websocketURL turns an RPC endpoint (http://host:port, tcp://host:port or
// host:port) into its websocket URL ws://host:port/websocket.
func websocketURL(endpoint string) (string, error) {
	e := endpoint
	switch {
	case strings.HasPrefix(e, "http://"):
		e = "ws://" + strings.TrimPrefix(e, "http://")
	case strings.HasPrefix(e, "https://"):
		e = "wss://" + strings.TrimPrefix(e, "https://")
	case strings.HasPrefix(e, "tcp://"):
		e = "ws://" + strings.TrimPrefix(e, "tcp://")
	case strings.Contains(e, "://"):
		return "", fmt.Errorf("%w: endpoint %q: want http://host:port", ErrBadOptions, endpoint)
	default:
		e = "ws://" + e
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: endpoint %q: want http://host:port", ErrBadOptions, endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/websocket"
	return u.String(), nil
}

// wsMessage is a JSON-RPC response or subscription event.
type wsMessage struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpc.Error      `json:"error"`
}

// subscribeBlocks subscribes to NewBlock on endpoint's websocket and sends
// each block on the returned channel, stamped with now() when it arrived.
// It returns once the subscription is acknowledged. The channel is closed
// when ctx ends or the connection fails; *errp then holds the failure.
func subscribeBlocks(ctx context.Context, endpoint string, now func() time.Time, errp *error) (<-chan Block, error) {
	u, err := websocketURL(endpoint)
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: websocket %s: %w", u, err)
	}
	req := map[string]any{"jsonrpc": "2.0", "id": "bench", "method": "subscribe", "params": map[string]string{"query": NewBlockQuery}}
	if err := conn.WriteJSON(req); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bench: subscribe at %s: %w", u, err)
	}
	var ack wsMessage
	if err := conn.ReadJSON(&ack); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bench: subscribe at %s: %w", u, err)
	}
	if ack.Error != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bench: subscribe at %s: %w", u, ack.Error)
	}
	out := make(chan Block, 1024)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	go func() {
		defer close(out)
		defer stop()
		defer conn.Close()
		for {
			_, data, err := conn.ReadMessage()
			at := now()
			if err != nil {
				if ctx.Err() == nil {
					*errp = fmt.Errorf("bench: websocket %s: %w", u, err)
				}
				return
			}
			b, ok, err := parseNewBlockMessage(data)
			var rpcErr *rpc.Error
			if errors.As(err, &rpcErr) {
				err = fmt.Errorf("bench: subscription at %s: %w", u, err)
			}
			if err != nil {
				*errp = err
				return
			}
			if !ok {
				continue
			}
			b.Received = at
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// fetchBlock gets the block at height with the `block` method.
func fetchBlock(ctx context.Context, c *rpc.Client, height int64) (Block, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, "block", map[string]string{"height": fmt.Sprint(height)}, &raw); err != nil {
		return Block{}, fmt.Errorf("bench: block %d: %w", height, err)
	}
	return parseBlock(raw)
}

// latestHeight asks a node for its latest committed height (`status`).
func latestHeight(ctx context.Context, c *rpc.Client) (int64, error) {
	var st struct {
		SyncInfo struct {
			LatestBlockHeight int64 `json:"latest_block_height,string"`
		} `json:"sync_info"`
	}
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		return 0, fmt.Errorf("bench: status: %w", err)
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// pollBlocks sends every block after height from, polling `status` every
// interval, until ctx ends; errors end it with *errp set.
func pollBlocks(ctx context.Context, c *rpc.Client, from int64, interval time.Duration, now func() time.Time, errp *error) <-chan Block {
	out := make(chan Block, 1024)
	go func() {
		defer close(out)
		t := time.NewTicker(interval)
		defer t.Stop()
		next := from + 1
		for {
			latest, err := latestHeight(ctx, c)
			for err == nil && next <= latest {
				var b Block
				if b, err = fetchBlock(ctx, c, next); err == nil {
					b.Received = now()
					select {
					case out <- b:
					case <-ctx.Done():
						return
					}
					next++
				}
			}
			if err != nil {
				if ctx.Err() == nil {
					*errp = err
				}
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
