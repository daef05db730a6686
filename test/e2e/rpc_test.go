package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// The JSON shapes below are the parts of the CometBFT-compatible RPC
// results that the checks read.

type partsJSON struct {
	Total uint32 `json:"total"`
	Hash  string `json:"hash"`
}

type blockIDJSON struct {
	Hash  string    `json:"hash"`
	Parts partsJSON `json:"parts"`
}

type commitSigJSON struct {
	BlockIDFlag      uint8     `json:"block_id_flag"`
	ValidatorAddress string    `json:"validator_address"`
	Signature        []byte    `json:"signature"`
	Timestamp        time.Time `json:"timestamp"`
}

// Commit signature flags (CometBFT's BlockIDFlag).
const (
	flagAbsent = 1
	flagCommit = 2
	flagNil    = 3
)

type commitJSON struct {
	Height     string          `json:"height"`
	Round      int32           `json:"round"`
	BlockID    blockIDJSON     `json:"block_id"`
	Signatures []commitSigJSON `json:"signatures"`
}

type headerJSON struct {
	Height      string      `json:"height"`
	Time        time.Time   `json:"time"`
	LastBlockID blockIDJSON `json:"last_block_id"`
	AppHash     string      `json:"app_hash"`
	Proposer    string      `json:"proposer_address"`
}

type blockJSON struct {
	BlockID blockIDJSON `json:"block_id"`
	Block   struct {
		Header     headerJSON             `json:"header"`
		Data       struct{ Txs [][]byte } `json:"data"`
		LastCommit commitJSON             `json:"last_commit"`
		Evidence   struct {
			Evidence []evidenceJSON `json:"evidence"`
		} `json:"evidence"`
	} `json:"block"`
}

// evidenceJSON is a block's piece of evidence, as much as the checks read.
type evidenceJSON struct {
	Type  string `json:"type"`
	Value struct {
		VoteA struct {
			Height           string `json:"height"`
			ValidatorAddress string `json:"validator_address"`
		} `json:"vote_a"`
	} `json:"value"`
}

type statusJSON struct {
	SyncInfo struct {
		LatestBlockHeight string `json:"latest_block_height"`
	} `json:"sync_info"`
	ValidatorInfo struct {
		Address string `json:"address"`
	} `json:"validator_info"`
}

// validatorAddress returns the node's validator address.
func validatorAddress(ctx context.Context, c *rpc.Client) (string, error) {
	var st statusJSON
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		return "", err
	}
	if st.ValidatorInfo.Address == "" {
		return "", fmt.Errorf("status: no validator address")
	}
	return st.ValidatorInfo.Address, nil
}

// status returns the node's latest block height.
func status(ctx context.Context, c *rpc.Client) (int64, error) {
	var st statusJSON
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
}

func getBlock(ctx context.Context, c *rpc.Client, h int64) (*blockJSON, error) {
	var b blockJSON
	if err := c.Call(ctx, "block", map[string]any{"height": strconv.FormatInt(h, 10)}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// latestCommit returns the node's commit of its latest block (its "seen"
// commit, which differs between nodes).
func latestCommit(ctx context.Context, c *rpc.Client) (*commitJSON, error) {
	var res struct {
		SignedHeader struct {
			Commit *commitJSON `json:"commit"`
		} `json:"signed_header"`
	}
	if err := c.Call(ctx, "commit", nil, &res); err != nil {
		return nil, err
	}
	if res.SignedHeader.Commit == nil {
		return nil, fmt.Errorf("commit: no commit in the result")
	}
	return res.SignedHeader.Commit, nil
}

type broadcastCommitJSON struct {
	CheckTx struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	} `json:"check_tx"`
	TxResult struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	} `json:"tx_result"`
	Hash   string `json:"hash"`
	Height string `json:"height"`
}

type broadcastSyncJSON struct {
	Code uint32 `json:"code"`
	Log  string `json:"log"`
	Hash string `json:"hash"`
}

type txJSON struct {
	Hash   string `json:"hash"`
	Height string `json:"height"`
	Index  uint32 `json:"index"`
	Tx     []byte `json:"tx"`
}

func getTx(ctx context.Context, c *rpc.Client, hash string) (*txJSON, error) {
	var r txJSON
	if err := c.Call(ctx, "tx", map[string]any{"hash": hash}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// queryKey reads key's committed value with abci_query.
func queryKey(ctx context.Context, c *rpc.Client, key string) (string, error) {
	var r struct {
		Response struct {
			Code  uint32 `json:"code"`
			Value []byte `json:"value"`
		} `json:"response"`
	}
	if err := c.Call(ctx, "abci_query", map[string]any{"path": "/key", "data": hex.EncodeToString([]byte(key))}, &r); err != nil {
		return "", err
	}
	if r.Response.Code != 0 {
		return "", fmt.Errorf("abci_query %q: code %d", key, r.Response.Code)
	}
	return string(r.Response.Value), nil
}

// numPeers returns the node's number of connected peers (net_info).
func numPeers(ctx context.Context, c *rpc.Client) (int64, error) {
	var r struct {
		NPeers string `json:"n_peers"`
	}
	if err := c.Call(ctx, "net_info", nil, &r); err != nil {
		return 0, err
	}
	return strconv.ParseInt(r.NPeers, 10, 64)
}

// disconnect cuts p off from its peers for d (unsafe_disconnect), and
// checks that it has none right after: the harness's own check that the
// fault took hold.
func disconnect(p *proc, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.client.Call(ctx, "unsafe_disconnect", map[string]any{"duration": d.String()}, nil); err != nil {
		return fmt.Errorf("%s: unsafe_disconnect: %w", p.name, err)
	}
	peers, err := numPeers(ctx, p.client)
	if err != nil || peers != 0 {
		return fmt.Errorf("%s disconnected has %d peers (err %v)", p.name, peers, err)
	}
	return nil
}
