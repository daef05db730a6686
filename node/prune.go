package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bftnode/bftnode/blockstore"
)

// The node prunes its history in the background (runPruner), every
// storage.pruning.interval, below a retain height it chooses from two
// wishes, keeping whichever keeps more: the retain_height the application
// last returned from Commit, and the last storage.retain_blocks blocks. It
// never prunes
//   - the last two blocks (the last commit's signers and the previous
//     block's time, which recovery and rollback read);
//   - a height whose evidence could still be submitted: not older than
//     evidence.max_age_num_blocks, or not older than
//     evidence.max_age_duration (evidence expires only past both), so that
//     the evidence pool can still verify it;
//   - a block the event index has not indexed yet.
// The event index is pruned first (it reads the blocks' results to find
// its entries), then the block store. The consensus WAL keeps itself
// small (consensus.wal_max_file_size).

// onCommitted is called by the consensus connection after each block, with
// the retain_height the application returned (0: no wish).
func (n *Node) onCommitted(retainHeight int64) {
	for {
		old := n.appRetain.Load()
		if retainHeight <= old || n.appRetain.CompareAndSwap(old, retainHeight) {
			break
		}
	}
	select {
	case n.committed <- struct{}{}:
	default:
	}
}

// runPruner prunes every storage.pruning.interval until ctx ends. A failed
// pruning is logged and tried again: it does not stop consensus.
func (n *Node) runPruner(ctx context.Context) error {
	t := time.NewTicker(n.cfg.Storage.Pruning.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := n.prune(); err != nil {
				n.log.Error("pruning failed; trying again later", "err", err)
			}
		}
	}
}

// prune deletes everything below the retain height.
func (n *Node) prune() error {
	retain, err := n.retainHeight()
	if err != nil || retain <= n.store.Base() {
		return err
	}
	began, base := time.Now(), n.store.Base()
	txs, err := n.index.Prune(retain)
	if err != nil {
		return err
	}
	blocks, err := n.store.PruneBlocks(retain)
	if err != nil {
		return err
	}
	n.log.Info("pruned", "below", retain, "blocks", blocks, "txs_unindexed", txs, "from", base, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// retainHeight is the lowest height to keep, 0 when nothing may go.
func (n *Node) retainHeight() (int64, error) {
	st, err := n.store.LoadState()
	if errors.Is(err, blockstore.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pruning: %w", err)
	}
	last := st.LastBlockHeight
	want := n.appRetain.Load()
	if k := n.cfg.Storage.RetainBlocks; k > 0 && (want <= 0 || last-k+1 < want) {
		want = last - k + 1
	}
	indexed, _ := n.index.LastIndexed()
	want = min(want, last-1, indexed)
	if want <= n.store.Base() {
		return 0, nil
	}
	return n.evidenceBound(st, want)
}

// evidenceBound lowers want to the lowest height whose evidence has not
// expired after the state st (see evidence.Params).
func (n *Node) evidenceBound(st *blockstore.State, want int64) (int64, error) {
	p := st.ConsensusParams
	want = min(want, st.LastBlockHeight-p.EvidenceMaxAgeNumBlocks)
	base := n.store.Base()
	if want <= base {
		return 0, nil
	}
	// Block times rise with height: find the lowest height in [base, want)
	// still within evidence.max_age_duration of the last block.
	cutoff := st.LastBlockTime.Add(-p.EvidenceMaxAgeDuration)
	var readErr error
	i := sort.Search(int(want-base), func(i int) bool {
		m, err := n.store.LoadBlockMeta(base + int64(i))
		if err != nil {
			readErr = err
			return true
		}
		return !m.Header.Time.Before(cutoff)
	})
	if readErr != nil {
		return 0, fmt.Errorf("pruning: read block times: %w", readErr)
	}
	return base + int64(i), nil
}
