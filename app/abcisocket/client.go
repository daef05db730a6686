package abcisocket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/bftnode/bftnode/app"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// DefaultRequestTimeout is how long a call waits for its response unless
// configured otherwise; an application silent for that long is dead.
const DefaultRequestTimeout = time.Minute

// Options configure a Client. The zero value is usable.
type Options struct {
	// RequestTimeout bounds each call, on top of its context's deadline:
	// 0 means DefaultRequestTimeout, a negative value means no bound.
	RequestTimeout time.Duration
	// MaxMessageSize bounds a response; 0 means DefaultMaxMessageSize.
	MaxMessageSize int
}

// Client is an app.Application served by a remote ABCI socket server. It holds
// one connection per role, as the node uses them: consensus (InitChain, the
// proposal and vote extension calls, FinalizeBlock, Commit), mempool
// (CheckTx), query (Info, Query) and snapshot (the state sync calls). It is
// safe for concurrent use.
type Client struct {
	consensus, mempool, query, snapshot *conn
}

var _ app.Application = (*Client)(nil)

// Dial opens the four connections of a Client to addr (tcp://host:port or
// unix:///path).
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	network, address, err := splitAddr(addr)
	if err != nil {
		return nil, err
	}
	timeout := opts.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	maxSize := opts.MaxMessageSize
	if maxSize == 0 {
		maxSize = DefaultMaxMessageSize
	}
	var d net.Dialer
	var conns [4]*conn
	for i, role := range [4]string{"consensus", "mempool", "query", "snapshot"} {
		nc, err := d.DialContext(ctx, network, address)
		if err != nil {
			for _, c := range conns[:i] {
				c.close()
			}
			return nil, fmt.Errorf("%w: %s connection: %w", ErrAppDead, role, err)
		}
		conns[i] = newConn(nc, fmt.Sprintf("%s connection to %s", role, addr), timeout, maxSize)
	}
	return &Client{consensus: conns[0], mempool: conns[1], query: conns[2], snapshot: conns[3]}, nil
}

// Close closes the connections; calls in flight fail with ErrAppDead.
func (c *Client) Close() error {
	for _, cn := range []*conn{c.consensus, c.mempool, c.query, c.snapshot} {
		cn.close()
	}
	return nil
}

// Echo sends msg on the query connection and checks that it comes back: a
// liveness check.
func (c *Client) Echo(ctx context.Context, msg string) error {
	res, err := call(ctx, c.query, &abci.Request{Value: &abci.Request_Echo{Echo: &abci.RequestEcho{Message: msg}}}, (*abci.Response).GetEcho)
	if err != nil {
		return err
	}
	if res.Message != msg {
		return c.query.fail(errors.New("echo answered with another message"))
	}
	return nil
}

// Info implements app.Application.
func (c *Client) Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return call(ctx, c.query, &abci.Request{Value: &abci.Request_Info{Info: req}}, (*abci.Response).GetInfo)
}

// Query implements app.Application.
func (c *Client) Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return call(ctx, c.query, &abci.Request{Value: &abci.Request_Query{Query: req}}, (*abci.Response).GetQuery)
}

// CheckTx implements app.Application.
func (c *Client) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	return call(ctx, c.mempool, &abci.Request{Value: &abci.Request_CheckTx{CheckTx: req}}, (*abci.Response).GetCheckTx)
}

// InitChain implements app.Application.
func (c *Client) InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_InitChain{InitChain: req}}, (*abci.Response).GetInitChain)
}

// PrepareProposal implements app.Application.
func (c *Client) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_PrepareProposal{PrepareProposal: req}}, (*abci.Response).GetPrepareProposal)
}

// ProcessProposal implements app.Application.
func (c *Client) ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_ProcessProposal{ProcessProposal: req}}, (*abci.Response).GetProcessProposal)
}

// FinalizeBlock implements app.Application.
func (c *Client) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_FinalizeBlock{FinalizeBlock: req}}, (*abci.Response).GetFinalizeBlock)
}

// ExtendVote implements app.Application.
func (c *Client) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_ExtendVote{ExtendVote: req}}, (*abci.Response).GetExtendVote)
}

// VerifyVoteExtension implements app.Application.
func (c *Client) VerifyVoteExtension(ctx context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_VerifyVoteExtension{VerifyVoteExtension: req}}, (*abci.Response).GetVerifyVoteExtension)
}

// Commit implements app.Application.
func (c *Client) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	return call(ctx, c.consensus, &abci.Request{Value: &abci.Request_Commit{Commit: req}}, (*abci.Response).GetCommit)
}

// ListSnapshots implements app.Application.
func (c *Client) ListSnapshots(ctx context.Context, req *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	return call(ctx, c.snapshot, &abci.Request{Value: &abci.Request_ListSnapshots{ListSnapshots: req}}, (*abci.Response).GetListSnapshots)
}

// OfferSnapshot implements app.Application.
func (c *Client) OfferSnapshot(ctx context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	return call(ctx, c.snapshot, &abci.Request{Value: &abci.Request_OfferSnapshot{OfferSnapshot: req}}, (*abci.Response).GetOfferSnapshot)
}

// LoadSnapshotChunk implements app.Application.
func (c *Client) LoadSnapshotChunk(ctx context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	return call(ctx, c.snapshot, &abci.Request{Value: &abci.Request_LoadSnapshotChunk{LoadSnapshotChunk: req}}, (*abci.Response).GetLoadSnapshotChunk)
}

// InsertTx implements app.Application.
func (c *Client) InsertTx(ctx context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	return call(ctx, c.mempool, &abci.Request{Value: &abci.Request_InsertTx{InsertTx: req}}, (*abci.Response).GetInsertTx)
}

// ReapTxs implements app.Application.
func (c *Client) ReapTxs(ctx context.Context, req *abci.RequestReapTxs) (*abci.ResponseReapTxs, error) {
	return call(ctx, c.mempool, &abci.Request{Value: &abci.Request_ReapTxs{ReapTxs: req}}, (*abci.Response).GetReapTxs)
}

// ApplySnapshotChunk implements app.Application.
func (c *Client) ApplySnapshotChunk(ctx context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	return call(ctx, c.snapshot, &abci.Request{Value: &abci.Request_ApplySnapshotChunk{ApplySnapshotChunk: req}}, (*abci.Response).GetApplySnapshotChunk)
}
