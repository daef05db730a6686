package light

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

// FullNode is what the proxy asks of the primary beyond light blocks:
// whole blocks (checked against verified headers), its description, and
// application queries (passed through). RPCProvider implements it.
type FullNode interface {
	Block(ctx context.Context, height int64) (*types.Block, error)
	NodeInfo(ctx context.Context) (*rpc.NodeInfo, error)
	ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error)
}

// Proxy is an rpc.Backend serving verified data, so rpc.Server answers
// with CometBFT's JSON: block, header, commit and validators come from
// headers the client verified (a block's transactions are checked against
// its verified header's data hash); status reports the latest verified
// header; abci_query is passed through to the primary (its proof, if the
// application gives one, is not verified by the proxy). Every other method
// is refused with ErrNotServed.
type Proxy struct {
	client *Client
	node   FullNode
}

// NewProxy serves client's verified data, with node (the primary) for
// blocks, status and queries.
func NewProxy(client *Client, node FullNode) *Proxy { return &Proxy{client: client, node: node} }

// ErrNotServed is returned for the RPC methods the light proxy does not
// serve.
var ErrNotServed = errors.New("not served by the light proxy (it serves block, header, commit, validators, status, abci_query, health); ask a full node")

var _ rpc.Backend = (*Proxy)(nil)

// Heights verifies the primary's latest header: the proxy's latest height
// is always a verified one. Lower heights are verified on demand.
func (p *Proxy) Heights(ctx context.Context) (int64, int64, error) {
	lb, err := p.client.Update(ctx)
	if err != nil {
		return 0, 0, err
	}
	return 1, lb.Height(), nil
}

func (p *Proxy) verified(ctx context.Context, height int64) (*LightBlock, error) {
	return p.client.VerifyLightBlockAtHeight(ctx, height)
}

// Status describes the primary (as it says) and the latest verified header.
func (p *Proxy) Status(ctx context.Context) (*rpc.Status, error) {
	info, err := p.node.NodeInfo(ctx)
	if err != nil {
		return nil, err
	}
	if info.Network != p.client.ChainID() {
		return nil, fmt.Errorf("light: primary is on chain %q, not %q", info.Network, p.client.ChainID())
	}
	latest, err := p.client.Update(ctx)
	if err != nil {
		return nil, err
	}
	lowest, err := p.client.store.Lowest()
	if err != nil {
		return nil, err
	}
	return &rpc.Status{Node: *info, Sync: rpc.SyncInfo{
		LatestBlockHash: latest.Hash(), LatestAppHash: latest.Header.AppHash,
		LatestBlockHeight: latest.Height(), LatestBlockTime: latest.Header.Time,
		EarliestBlockHash: lowest.Hash(), EarliestAppHash: lowest.Header.AppHash,
		EarliestBlockHeight: lowest.Height(), EarliestBlockTime: lowest.Header.Time,
	}}, nil
}

// BlockMeta is the verified header at height with its block ID.
func (p *Proxy) BlockMeta(ctx context.Context, height int64) (*blockstore.BlockMeta, error) {
	lb, err := p.verified(ctx, height)
	if err != nil {
		return nil, err
	}
	return &blockstore.BlockMeta{BlockID: lb.Commit.BlockID, Header: *lb.Header}, nil
}

// Block is the primary's block at height, refused unless its header is the
// verified one and its transactions and last commit match that header.
func (p *Proxy) Block(ctx context.Context, height int64) (*types.Block, types.BlockID, error) {
	lb, err := p.verified(ctx, height)
	if err != nil {
		return nil, types.BlockID{}, err
	}
	b, err := p.node.Block(ctx, height)
	if err != nil {
		return nil, types.BlockID{}, err
	}
	if got := b.Hash(); got != lb.Hash() {
		return nil, types.BlockID{}, fmt.Errorf("%w: primary %s sent block %X at height %d, the verified header is %X",
			ErrInvalidHeader, p.client.Primary().ID(), got, height, lb.Hash())
	}
	if err := b.ValidateBasic(); err != nil {
		return nil, types.BlockID{}, fmt.Errorf("primary %s: block at height %d: %w", p.client.Primary().ID(), height, err)
	}
	return b, lb.Commit.BlockID, nil
}

// Commit is the verified commit at height. It is reported canonical: it
// is the commit the client verified the header with.
func (p *Proxy) Commit(ctx context.Context, height int64) (*types.Commit, bool, error) {
	lb, err := p.verified(ctx, height)
	if err != nil {
		return nil, false, err
	}
	return lb.Commit, true, nil
}

// Validators is the verified validator set at height.
func (p *Proxy) Validators(ctx context.Context, height int64) (*types.ValidatorSet, error) {
	lb, err := p.verified(ctx, height)
	if err != nil {
		return nil, err
	}
	return lb.ValidatorSet, nil
}

// ABCIQuery passes the query to the primary's application, unverified.
func (p *Proxy) ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return p.node.ABCIQuery(ctx, req)
}

// The methods below are not served.

func (p *Proxy) NetInfo(context.Context) (*rpc.NetInfo, error)    { return nil, ErrNotServed }
func (p *Proxy) Genesis(context.Context) (json.RawMessage, error) { return nil, ErrNotServed }
func (p *Proxy) ConsensusState(context.Context) (*rpc.ConsensusState, error) {
	return nil, ErrNotServed
}
func (p *Proxy) ABCIInfo(context.Context) (*abci.ResponseInfo, error)    { return nil, ErrNotServed }
func (p *Proxy) BroadcastEvidence(context.Context, types.Evidence) error { return ErrNotServed }
func (p *Proxy) BlockByHash(context.Context, types.Hash) (*types.Block, types.BlockID, error) {
	return nil, types.BlockID{}, ErrNotServed
}
func (p *Proxy) BlockResults(context.Context, int64) (*abci.ResponseFinalizeBlock, error) {
	return nil, ErrNotServed
}
func (p *Proxy) ConsensusParams(context.Context, int64) (*tmtypes.ConsensusParams, error) {
	return nil, ErrNotServed
}
func (p *Proxy) CheckTx(context.Context, []byte) (*abci.ResponseCheckTx, error) {
	return nil, ErrNotServed
}
func (p *Proxy) BroadcastTx(context.Context, []byte) (*abci.ResponseCheckTx, error) {
	return nil, ErrNotServed
}
func (p *Proxy) ReserveMempool(int) (rpc.MempoolReservation, error) { return nil, ErrNotServed }
func (p *Proxy) UnconfirmedTxs(context.Context, int) (*rpc.UnconfirmedTxs, error) {
	return nil, ErrNotServed
}
func (p *Proxy) Tx(context.Context, types.Hash) (*eventbus.TxResult, error) { return nil, ErrNotServed }
func (p *Proxy) TxSearch(context.Context, *query.Query) ([]*eventbus.TxResult, error) {
	return nil, ErrNotServed
}
func (p *Proxy) BlockSearch(context.Context, *query.Query) ([]int64, error) { return nil, ErrNotServed }
func (p *Proxy) Subscribe(context.Context, *query.Query) (<-chan eventbus.Event, error) {
	return nil, ErrNotServed
}
