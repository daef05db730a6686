package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
	"github.com/bftnode/bftnode/types"
)

// handshake brings the application level with the block store: InitChain
// at genesis, then the stored blocks it has not committed. It refuses an
// application that is ahead of the store or whose app hash disagrees. After
// a rollback (see blockstore.Store.Rollback) the store may hold one block
// past its state: that block is executed and its state saved, or, if the
// application committed it already, its state is rebuilt from the stored
// FinalizeBlock response.
func (e *Engine) handshake(ctx context.Context) error {
	st, err := e.d.Store.LoadState()
	if errors.Is(err, blockstore.ErrNotFound) {
		st, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("%w: load state: %w", ErrStore, err)
	}
	storeH := e.d.Store.Height()
	if st == nil && storeH > 0 {
		return fmt.Errorf("%w: the store holds blocks up to %d but no state", ErrStore, storeH)
	}
	// pending is a stored block the state has not executed (rolled back).
	var pending int64
	if st != nil && st.LastBlockHeight != max(storeH, st.InitialHeight-1) {
		if st.LastBlockHeight != storeH-1 || storeH < st.InitialHeight {
			return fmt.Errorf("%w: the store's state is at height %d but its blocks end at %d", ErrStore, st.LastBlockHeight, storeH)
		}
		pending = storeH
	}
	info, err := e.d.App.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		return fmt.Errorf("%w: Info: %w", ErrApp, err)
	}
	appH := info.LastBlockHeight
	if appH > storeH {
		return fmt.Errorf("%w: the application has committed height %d but the block store ends at height %d; restore the application's data to a height the store holds", ErrAppAhead, appH, storeH)
	}
	if pending != 0 && appH == pending {
		// The state was rolled back, the application was not.
		if e.state, err = e.restorePending(pending, st, info.LastBlockAppHash); err != nil {
			return err
		}
		return nil
	}
	ih := e.cfg.Genesis.InitialHeight
	if appH < ih {
		if st, err = e.initChain(ctx, st, info.AppVersion); err != nil {
			return err
		}
	} else {
		want, err := e.appHashAfter(appH, st)
		if err != nil {
			return err
		}
		if !bytes.Equal(info.LastBlockAppHash, want) {
			return fmt.Errorf("%w: at height %d the application reports %X, the store %X", ErrAppHashMismatch, appH, info.LastBlockAppHash, want)
		}
	}
	e.state = st
	for h := max(appH+1, ih); h <= st.LastBlockHeight; h++ {
		if err := e.replayBlock(ctx, h, st); err != nil {
			return err
		}
	}
	if appH < st.LastBlockHeight {
		e.log.Info("replayed stored blocks to the application", "from", max(appH+1, ih), "to", st.LastBlockHeight)
	}
	if pending != 0 {
		return e.executePending(ctx, pending)
	}
	return nil
}

// appHashAfter is the app hash the store recorded after height h.
func (e *Engine) appHashAfter(h int64, st *blockstore.State) ([]byte, error) {
	if h == st.LastBlockHeight {
		return st.AppHash, nil
	}
	b, err := e.d.Store.LoadBlock(h + 1)
	if err != nil {
		return nil, fmt.Errorf("%w: load block %d: %w", ErrStore, h+1, err)
	}
	return b.Header.AppHash, nil
}

// replayBlock executes stored block h on the application and checks the
// app hash it reaches against the store's.
func (e *Engine) replayBlock(ctx context.Context, h int64, st *blockstore.State) error {
	b, err := e.d.Store.LoadBlock(h)
	if err != nil {
		return fmt.Errorf("%w: load block %d: %w", ErrStore, h, err)
	}
	var lastVals *types.ValidatorSet
	if h > st.InitialHeight {
		if lastVals, err = e.d.Store.LoadValidators(h - 1); err != nil {
			return fmt.Errorf("%w: validators of height %d: %w", ErrStore, h-1, err)
		}
	}
	resp, err := e.d.App.FinalizeBlock(ctx, finalizeRequest(b, lastVals))
	if err != nil {
		return fmt.Errorf("%w: FinalizeBlock replaying height %d: %w", ErrApp, h, err)
	}
	want, err := e.appHashAfter(h, st)
	if err != nil {
		return err
	}
	if !bytes.Equal(resp.AppHash, want) {
		return fmt.Errorf("%w: replaying height %d the application reached %X, the store recorded %X", ErrAppHashMismatch, h, resp.AppHash, want)
	}
	if _, err := e.d.App.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return fmt.Errorf("%w: Commit replaying height %d: %w", ErrApp, h, err)
	}
	return nil
}

// initChain calls InitChain with the genesis and, on a new store, saves
// the genesis state, with the application's version as Info reported it and
// the consensus parameters InitChain returned, which replace the genesis
// ones as in CometBFT.
func (e *Engine) initChain(ctx context.Context, st *blockstore.State, appVersion uint64) (*blockstore.State, error) {
	g := e.cfg.Genesis
	req := &abci.RequestInitChain{
		Time: g.Time, ChainId: g.ChainID, AppStateBytes: g.AppState, InitialHeight: g.InitialHeight,
	}
	for _, v := range g.Validators.Validators {
		req.Validators = append(req.Validators, abci.ValidatorUpdate{
			PubKey: crypto.PublicKey{Sum: &crypto.PublicKey_Ed25519{Ed25519: v.PubKey}},
			Power:  v.VotingPower,
		})
	}
	resp, err := e.d.App.InitChain(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: InitChain: %w", ErrApp, err)
	}
	if st != nil {
		// Stored blocks follow; the app hash is checked as they replay. With
		// none, the stored genesis state must match.
		if st.LastBlockHeight < g.InitialHeight && !bytes.Equal(st.AppHash, resp.AppHash) {
			return nil, fmt.Errorf("%w: InitChain returned %X, the stored genesis state %X", ErrAppHashMismatch, resp.AppHash, st.AppHash)
		}
		return st, nil
	}
	vals := g.Validators.Copy()
	if len(resp.Validators) > 0 {
		list := make([]*types.Validator, 0, len(resp.Validators))
		for _, u := range resp.Validators {
			pub := u.PubKey.GetEd25519()
			if len(pub) == 0 {
				return nil, fmt.Errorf("%w: InitChain returned a validator without an ed25519 key", ErrApp)
			}
			list = append(list, types.NewValidator(pub, u.Power))
		}
		if vals, err = types.NewValidatorSet(list); err != nil {
			return nil, fmt.Errorf("%w: InitChain validators: %w", ErrApp, err)
		}
	}
	next := vals.Copy()
	next.IncrementProposerPriority(1)
	st = &blockstore.State{
		ChainID:         g.ChainID,
		InitialHeight:   g.InitialHeight,
		LastBlockHeight: g.InitialHeight - 1,
		LastBlockTime:   g.Time,
		Validators:      vals,
		NextValidators:  next,
		ConsensusParams: g.ConsensusParams,
		AppHash:         append([]byte(nil), resp.AppHash...),
		AppVersion:      appVersion,
	}
	if err := applyParamUpdates(st, g.InitialHeight-1, resp.ConsensusParams, "InitChain"); err != nil {
		return nil, err
	}
	if err := e.d.Store.SaveState(st); err != nil {
		return nil, fmt.Errorf("%w: save genesis state: %w", ErrStore, err)
	}
	return st, nil
}
