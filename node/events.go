package node

import (
	"context"
	"fmt"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// publishCommitted gives the RPC's event bus and index every block stored
// since the last call, in height order: the store is the source of truth,
// so a restart rebuilds the index and a burst of commits loses nothing.
func (n *Node) publishCommitted() error {
	from := max(n.published+1, n.store.Base())
	for h := from; h <= n.store.Height() && h > 0; h++ {
		block, err := n.store.LoadBlock(h)
		if err != nil {
			return fmt.Errorf("load block %d for the event index: %w", h, err)
		}
		meta, err := n.store.LoadBlockMeta(h)
		if err != nil {
			return fmt.Errorf("load block meta %d for the event index: %w", h, err)
		}
		results, err := n.finalizeResponse(h)
		if err != nil {
			return err
		}
		n.index.IndexBlock(block, results)
		n.bus.PublishBlock(block, meta.BlockID, results)
		n.metrics.observeBlock(block)
		n.published = h
	}
	return nil
}

// finalizeResponse loads the application's stored FinalizeBlock response.
func (n *Node) finalizeResponse(h int64) (*abci.ResponseFinalizeBlock, error) {
	raw, err := n.store.LoadFinalizeBlockResponse(h)
	if err != nil {
		return nil, fmt.Errorf("load the results of block %d: %w", h, err)
	}
	var resp abci.ResponseFinalizeBlock
	if err := resp.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("decode the results of block %d: %w", h, err)
	}
	return &resp, nil
}

// pumpEvents publishes committed blocks as the engine commits them.
func (n *Node) pumpEvents(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.committed:
			if err := n.publishCommitted(); err != nil {
				return err
			}
		}
	}
}
