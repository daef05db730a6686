package engine

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// applyBlock executes and commits a decided block: FinalizeBlock, then one
// atomic, synced save of the block, its seen commit (with its vote
// extensions where they are in force), the FinalizeBlock response (which
// holds the tx results) and the next state, the WAL's end-of-height marker,
// Commit on the application and the mempool update.
//
// The mempool is locked from the marker until it is updated, as in
// CometBFT: no CheckTx runs between the application's Commit and the
// recheck of the txs left in the pool, so none is admitted against a
// committed state without being rechecked. FinalizeBlock and the synced
// save run outside the lock, so RPC and peers' txs do not wait for them; a
// CheckTx meanwhile sees the application's check state of the last
// committed block (as ABCI allows: CheckTx has its own connection) and is
// rechecked by the update.
//
// The marker is not synced on its own: it is synced with the next own
// signed message, before anything of the next height leaves this node, or
// lost in a crash, after which recovery finds the height stored and marks
// it again (see recover).
//
// A stop (ctx ending) does not interrupt it: once FinalizeBlock is sent, the
// application may have executed the block even if its answer is lost, and
// an application that reports the height in Info before its Commit (as
// CometBFT's e2e app does) would then be ahead of the store, which the next
// start refuses. So the height is carried through to the application's
// Commit, and the stop takes effect after it.
func (e *Engine) applyBlock(ctx context.Context, b *types.Block, id types.BlockID, seen *types.ExtendedCommit) error {
	ctx = context.WithoutCancel(ctx)
	h := b.Header.Height
	next, resp, err := e.finalize(ctx, b, id)
	if err != nil {
		return err
	}
	var ext *types.ExtendedCommit
	if e.extensionsAt(h) {
		ext = seen
	}
	if err := e.d.Store.SaveDecided(b, id, seen.Commit, ext, resp, next); err != nil {
		return fmt.Errorf("%w: saving height %d: %w", ErrStore, h, err)
	}
	mark(&e.trace.saved)
	e.d.Mempool.Lock()
	defer e.d.Mempool.Unlock()
	if err := e.d.WAL.WriteEndHeightNoSync(h); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	mark(&e.trace.walEnd)
	if _, err := e.d.App.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return fmt.Errorf("%w: Commit at height %d: %w", ErrApp, h, err)
	}
	mark(&e.trace.committed)
	if err := e.evidenceCommitted(b, e.state.Validators); err != nil {
		return err
	}
	e.state = next
	e.started = false
	if err := e.d.Mempool.Update(ctx, h, b.Data.Txs, true); err != nil {
		e.log.Warn("mempool update failed", "height", h, "err", err)
	}
	mark(&e.trace.done)
	e.log.Info("committed", "height", h, "block", id, "txs", len(b.Data.Txs), "app_hash", fmt.Sprintf("%X", next.AppHash))
	return nil
}

// finalizeRequest is the FinalizeBlock request for b, whose last commit
// was signed by lastVals.
func finalizeRequest(b *types.Block, lastVals *types.ValidatorSet) *abci.RequestFinalizeBlock {
	return &abci.RequestFinalizeBlock{
		Txs:                b.Data.Txs,
		DecidedLastCommit:  commitInfo(b.LastCommit, lastVals),
		Misbehavior:        misbehavior(b.Evidence),
		Hash:               hashBytes(b.Hash()),
		Height:             b.Header.Height,
		Time:               b.Header.Time,
		NextValidatorsHash: hashBytes(b.Header.NextValidatorsHash),
		ProposerAddress:    b.Header.ProposerAddress[:],
	}
}

// commitInfo tells the application who signed the last commit.
func commitInfo(c *types.Commit, vals *types.ValidatorSet) abci.CommitInfo {
	if c == nil || vals == nil {
		return abci.CommitInfo{}
	}
	info := abci.CommitInfo{Round: c.Round, Votes: make([]abci.VoteInfo, 0, len(c.Signatures))}
	for i, s := range c.Signatures {
		v := vals.ByIndex(int32(i))
		if v == nil {
			break
		}
		info.Votes = append(info.Votes, abci.VoteInfo{
			Validator:   abci.Validator{Address: v.Address[:], Power: v.VotingPower},
			BlockIdFlag: blockIDFlag(s.Flag),
		})
	}
	return info
}

// nextState is the state after block b with the application's response:
// validator updates take effect at height+2, proposer priorities advance.
func nextState(st *blockstore.State, b *types.Block, id types.BlockID, resp *abci.ResponseFinalizeBlock) (*blockstore.State, error) {
	h := b.Header.Height
	next := *st
	next.LastBlockHeight, next.LastBlockID, next.LastBlockTime = h, id, b.Header.Time
	nvals := st.NextValidators.Copy()
	if len(resp.ValidatorUpdates) > 0 {
		updates := make([]types.ValidatorUpdate, 0, len(resp.ValidatorUpdates))
		for _, u := range resp.ValidatorUpdates {
			pub := u.PubKey.GetEd25519()
			if len(pub) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("%w: validator update at height %d without an ed25519 key", ErrApp, h)
			}
			updates = append(updates, types.ValidatorUpdate{PubKey: ed25519.PublicKey(pub), Power: u.Power})
		}
		var err error
		if nvals, err = nvals.Update(updates); err != nil {
			return nil, fmt.Errorf("%w: validator updates at height %d: %w", ErrApp, h, err)
		}
		next.LastHeightValidatorsChanged = h + 2
	}
	nvals.IncrementProposerPriority(1)
	next.LastValidators = st.Validators.Copy()
	next.Validators = st.NextValidators.Copy()
	next.NextValidators = nvals
	if err := applyParamUpdates(&next, h, resp.ConsensusParamUpdates, "FinalizeBlock"); err != nil {
		return nil, err
	}
	next.AppHash = append([]byte(nil), resp.AppHash...)
	next.LastResultsHash = resultsHash(resp.TxResults)
	return &next, nil
}

// resultsHash is the Merkle root of the deterministic part of each tx
// result (code, data, gas wanted and used), as in CometBFT.
func resultsHash(results []*abci.ExecTxResult) types.Hash {
	items := make([][]byte, len(results))
	for i, r := range results {
		det := abci.ExecTxResult{Code: r.Code, Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed}
		bz, err := det.Marshal()
		if err != nil {
			bz = nil // cannot fail for this plain message
		}
		items[i] = bz
	}
	return types.MerkleRoot(items)
}

func blockIDFlag(f types.BlockIDFlag) tmtypes.BlockIDFlag { return tmtypes.BlockIDFlag(f) }

// finalize executes block b (whose ID is id) on the application (FinalizeBlock) and
// returns the state after b and the encoded response (which holds the tx
// results), for the caller to save before Commit on the application.
func (e *Engine) finalize(ctx context.Context, b *types.Block, id types.BlockID) (*blockstore.State, []byte, error) {
	h := b.Header.Height
	resp, err := e.d.App.FinalizeBlock(ctx, finalizeRequest(b, e.state.LastValidators))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: FinalizeBlock at height %d: %w", ErrApp, h, err)
	}
	if len(resp.TxResults) != len(b.Data.Txs) {
		return nil, nil, fmt.Errorf("%w: FinalizeBlock at height %d returned %d results for %d txs", ErrApp, h, len(resp.TxResults), len(b.Data.Txs))
	}
	next, err := nextState(e.state, b, id, resp)
	if err != nil {
		return nil, nil, err
	}
	respBytes, err := resp.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: marshal FinalizeBlock response: %w", ErrStore, err)
	}
	return next, respBytes, nil
}
