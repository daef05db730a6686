package kvstore

import (
	"context"
	"sync/atomic"

	"github.com/bftnode/bftnode/app"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// Retaining is the kvstore that lets the node prune old blocks: each
// Commit returns the retain height that keeps the last Blocks blocks (as
// CometBFT's kvstore does with RetainBlocks), once that many exist.
type Retaining struct {
	*App
	Blocks int64
	height atomic.Int64 // of the block last finalized
}

var _ app.Application = (*Retaining)(nil)

// FinalizeBlock executes the block and notes its height.
func (r *Retaining) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	resp, err := r.App.FinalizeBlock(ctx, req)
	if err == nil {
		r.height.Store(req.Height)
	}
	return resp, err
}

// Commit commits the block and returns the retain height.
func (r *Retaining) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	resp, err := r.App.Commit(ctx, req)
	if err != nil {
		return resp, err
	}
	if h := r.height.Load(); r.Blocks > 0 && h >= r.Blocks {
		resp.RetainHeight = h - r.Blocks + 1
	}
	return resp, nil
}
