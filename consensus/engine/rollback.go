package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// executePending executes stored block h, which the state (at h-1) has not
// executed since a rollback, and saves the state after it, as applyBlock
// does for a decided block. Nothing checks the app hash it reaches: block
// h+1 is not stored, and recomputing it is the rollback's purpose.
func (e *Engine) executePending(ctx context.Context, h int64) error {
	ctx = context.WithoutCancel(ctx) // as in applyBlock: a stop waits for Commit
	b, id, err := e.loadStored(h)
	if err != nil {
		return err
	}
	next, resp, err := e.finalize(ctx, b, id)
	if err != nil {
		return err
	}
	// The block is stored already: only its results and the state are saved.
	if err := e.d.Store.SaveExecuted(h, resp, next); err != nil {
		return fmt.Errorf("%w: saving height %d: %w", ErrStore, h, err)
	}
	if _, err := e.d.App.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return fmt.Errorf("%w: Commit re-executing height %d: %w", ErrApp, h, err)
	}
	e.state = next
	e.log.Info("re-executed the stored block the state was rolled back from", "height", h, "app_hash", fmt.Sprintf("%X", next.AppHash))
	return nil
}

// restorePending rebuilds the state after stored block h, which the
// application committed before the state was rolled back, from the stored
// FinalizeBlock response, whose app hash must be the application's.
func (e *Engine) restorePending(h int64, st *blockstore.State, appHash []byte) (*blockstore.State, error) {
	b, id, err := e.loadStored(h)
	if err != nil {
		return nil, err
	}
	bz, err := e.d.Store.LoadFinalizeBlockResponse(h)
	if err != nil {
		return nil, fmt.Errorf("%w: the application is at height %d, the state at %d, and the FinalizeBlock response of height %d is not stored: %w; roll the application back to height %d",
			ErrStore, h, h-1, h, err, h-1)
	}
	var resp abci.ResponseFinalizeBlock
	if err := resp.Unmarshal(bz); err != nil {
		return nil, fmt.Errorf("%w: FinalizeBlock response of height %d: %w", ErrStore, h, err)
	}
	if !bytes.Equal(resp.AppHash, appHash) {
		return nil, fmt.Errorf("%w: at height %d the application reports %X, the stored FinalizeBlock response %X; roll the application back to height %d so that the block is executed again",
			ErrAppHashMismatch, h, appHash, resp.AppHash, h-1)
	}
	next, err := nextState(st, b, id, &resp)
	if err != nil {
		return nil, err
	}
	if err := e.d.Store.SaveState(next); err != nil {
		return nil, fmt.Errorf("%w: saving the state of height %d: %w", ErrStore, h, err)
	}
	e.log.Info("the application had committed the block the state was rolled back from; restored its state from the stored response", "height", h)
	return next, nil
}

// loadStored loads stored block h and its ID.
func (e *Engine) loadStored(h int64) (*types.Block, types.BlockID, error) {
	b, err := e.d.Store.LoadBlock(h)
	if err != nil {
		return nil, types.BlockID{}, fmt.Errorf("%w: load block %d: %w", ErrStore, h, err)
	}
	id, err := types.MakeBlockID(b)
	if err != nil {
		return nil, types.BlockID{}, fmt.Errorf("%w: block %d: %w", ErrStore, h, err)
	}
	return b, id, nil
}
