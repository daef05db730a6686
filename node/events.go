package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// resumeIndex makes publishCommitted start after the last block the
// persistent event index holds, so that a restart reads only the blocks
// stored since. An index that does not hold the stored chain's block at its
// last height (the store was reset, or rolled back below it) is emptied and
// rebuilt from the store.
func (n *Node) resumeIndex() error {
	h, hash := n.index.LastIndexed()
	n.published = h
	if h == 0 || h < n.store.Base() {
		return nil // nothing indexed, or the store was pruned past it
	}
	if h <= n.store.Height() {
		meta, err := n.store.LoadBlockMeta(h)
		if err == nil && meta.BlockID.Hash == hash {
			return nil
		}
		if err != nil && !errors.Is(err, blockstore.ErrNotFound) {
			return fmt.Errorf("check the event index against block %d: %w", h, err)
		}
	}
	n.log.Warn("the event index does not match the block store; rebuilding it", "index_height", h, "store_height", n.store.Height())
	n.published = 0
	return n.index.Reset()
}

// publishCommitted gives the RPC's event bus and index every block stored
// since the last call, in height order: the store is the source of truth,
// so an index behind it catches up and a burst of commits loses nothing.
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
		if err := n.index.IndexBlock(block, results); err != nil {
			return err
		}
		n.bus.PublishBlock(block, meta.BlockID, results)
		n.bus.PublishEvidence(h, block.Evidence)
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
