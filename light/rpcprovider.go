package light

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

// RPCProvider reads light blocks from a node's JSON-RPC: /commit for the
// signed header and /validators (every page) for the set. It speaks to
// bftnode and CometBFT nodes alike.
type RPCProvider struct {
	addr   string
	client *rpc.Client
}

// NewRPCProvider returns a provider for the node at addr (tcp://host:port,
// http://…, host:port).
func NewRPCProvider(addr string) (*RPCProvider, error) {
	c, err := rpc.NewClient(addr, nil)
	if err != nil {
		return nil, fmt.Errorf("light: provider %s: %w", addr, err)
	}
	return &RPCProvider{addr: addr, client: c}, nil
}

// ID is the provider's address.
func (p *RPCProvider) ID() string { return p.addr }

// call invokes method; a height the node does not have becomes
// ErrLightBlockNotFound.
func (p *RPCProvider) call(ctx context.Context, method string, params any, result any) error {
	err := p.client.Call(ctx, method, params, result)
	var rerr *rpc.Error
	if errors.As(err, &rerr) {
		msg := rerr.Message + " " + rerr.Data
		for _, s := range []string{"must be less than or equal to", "is not available", "not found", "no blocks yet", "could not find"} {
			if strings.Contains(msg, s) {
				return fmt.Errorf("%w: %s: %s: %s", ErrLightBlockNotFound, p.addr, method, strings.TrimSpace(msg))
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p.addr, err)
	}
	return nil
}

func heightParams(height int64) map[string]string {
	if height == 0 {
		return map[string]string{}
	}
	return map[string]string{"height": strconv.FormatInt(height, 10)}
}

// perPage is the page size asked of /validators, CometBFT's maximum.
const perPage = 100

// LightBlock fetches the signed header and validator set at height (the
// latest when 0).
func (p *RPCProvider) LightBlock(ctx context.Context, height int64) (*LightBlock, error) {
	h, c, err := p.SignedHeader(ctx, height)
	if err != nil {
		return nil, err
	}
	vals, err := p.Validators(ctx, h.Height)
	if err != nil {
		return nil, err
	}
	return &LightBlock{Header: h, Commit: c, ValidatorSet: vals}, nil
}

// SignedHeader fetches the header and commit at height (the latest when 0).
func (p *RPCProvider) SignedHeader(ctx context.Context, height int64) (*types.Header, *types.Commit, error) {
	var res struct {
		SignedHeader signedHeaderJSON `json:"signed_header"`
	}
	if err := p.call(ctx, "commit", heightParams(height), &res); err != nil {
		return nil, nil, err
	}
	h, c, err := res.SignedHeader.toSignedHeader()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: commit at height %d: %w", p.addr, height, err)
	}
	if height != 0 && h.Height != height {
		return nil, nil, fmt.Errorf("%s: asked for the commit at height %d, got height %d", p.addr, height, h.Height)
	}
	return h, c, nil
}

// Validators fetches the whole validator set at height, page by page.
func (p *RPCProvider) Validators(ctx context.Context, height int64) (*types.ValidatorSet, error) {
	all, err := p.validators(ctx, height)
	if err != nil {
		return nil, err
	}
	vals, err := validatorSetFromJSON(all)
	if err != nil {
		return nil, fmt.Errorf("%s: validators at height %d: %w", p.addr, height, err)
	}
	return vals, nil
}

// validators fetches every page of /validators at height.
func (p *RPCProvider) validators(ctx context.Context, height int64) ([]validatorJSON, error) {
	var all []validatorJSON
	for page := 1; ; page++ {
		var res struct {
			Validators []validatorJSON `json:"validators"`
			Total      int             `json:"total,string"`
		}
		params := heightParams(height)
		params["page"], params["per_page"] = strconv.Itoa(page), strconv.Itoa(perPage)
		if err := p.call(ctx, "validators", params, &res); err != nil {
			return nil, err
		}
		all = append(all, res.Validators...)
		if len(all) >= res.Total || len(res.Validators) == 0 {
			return all, nil
		}
	}
}

type blockJSON struct {
	Header *headerJSON `json:"header"`
	Data   struct {
		Txs [][]byte `json:"txs"`
	} `json:"data"`
	LastCommit *commitJSON `json:"last_commit"`
}

// Block fetches the whole block at height (unverified).
func (p *RPCProvider) Block(ctx context.Context, height int64) (*types.Block, error) {
	var res struct {
		Block *blockJSON `json:"block"`
	}
	if err := p.call(ctx, "block", heightParams(height), &res); err != nil {
		return nil, err
	}
	if res.Block == nil || res.Block.Header == nil {
		return nil, fmt.Errorf("%s: block at height %d: no block in the response", p.addr, height)
	}
	h, err := res.Block.Header.toHeader()
	if err != nil {
		return nil, fmt.Errorf("%s: block at height %d: %w", p.addr, height, err)
	}
	b := &types.Block{Header: *h, Data: types.Data{Txs: res.Block.Data.Txs}}
	if lc := res.Block.LastCommit; lc != nil && lc.Height > 0 {
		if b.LastCommit, err = lc.toCommit(); err != nil {
			return nil, fmt.Errorf("%s: block at height %d: last %w", p.addr, height, err)
		}
	}
	return b, nil
}

// NodeInfo reads the node's description from its /status.
func (p *RPCProvider) NodeInfo(ctx context.Context) (*rpc.NodeInfo, error) {
	var res struct {
		NodeInfo struct {
			ID         string `json:"id"`
			ListenAddr string `json:"listen_addr"`
			Network    string `json:"network"`
			Version    string `json:"version"`
			Moniker    string `json:"moniker"`
			Protocol   struct {
				App uint64 `json:"app,string"`
			} `json:"protocol_version"`
			Other struct {
				TxIndex    string `json:"tx_index"`
				RPCAddress string `json:"rpc_address"`
			} `json:"other"`
		} `json:"node_info"`
	}
	if err := p.call(ctx, "status", nil, &res); err != nil {
		return nil, err
	}
	n := res.NodeInfo
	return &rpc.NodeInfo{ID: n.ID, ListenAddr: n.ListenAddr, Network: n.Network, Version: n.Version, AppVersion: n.Protocol.App,
		Moniker: n.Moniker, RPCAddress: n.Other.RPCAddress, TxIndex: n.Other.TxIndex == "on"}, nil
}

// ABCIQuery forwards a query to the node's application.
func (p *RPCProvider) ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	params := map[string]any{"path": req.Path, "data": hex.EncodeToString(req.Data), "height": strconv.FormatInt(req.Height, 10), "prove": req.Prove}
	var res struct {
		Response struct {
			Code      uint32 `json:"code"`
			Log       string `json:"log"`
			Info      string `json:"info"`
			Index     int64  `json:"index,string"`
			Key       []byte `json:"key"`
			Value     []byte `json:"value"`
			Height    int64  `json:"height,string"`
			Codespace string `json:"codespace"`
			// The application's proof, passed on as it came.
			ProofOps *crypto.ProofOps `json:"proof_ops"`
		} `json:"response"`
	}
	if err := p.call(ctx, "abci_query", params, &res); err != nil {
		return nil, err
	}
	r := res.Response
	return &abci.ResponseQuery{Code: r.Code, Log: r.Log, Info: r.Info, Index: r.Index, Key: r.Key, Value: r.Value, Height: r.Height, Codespace: r.Codespace, ProofOps: r.ProofOps}, nil
}

// ReportEvidence submits ev to the node with broadcast_evidence, in
// CometBFT's JSON (which bftnode and CometBFT nodes both read).
func (p *RPCProvider) ReportEvidence(ctx context.Context, ev types.Evidence) error {
	b, err := rpc.EvidenceJSON(ev)
	if err != nil {
		return fmt.Errorf("light: encode evidence: %w", err)
	}
	var res struct {
		Hash []byte `json:"hash"`
	}
	return p.call(ctx, "broadcast_evidence", map[string]any{"evidence": json.RawMessage(b)}, &res)
}
