package engine

import (
	"context"
	"errors"
	"fmt"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// Vote extensions, in force from the height the consensus parameters name
// (abci.vote_extensions_enable_height), as in CometBFT v0.40.0.

// extensionsAt says whether vote extensions are in force at height h under
// the parameters of the height being decided.
func (e *Engine) extensionsAt(h int64) bool {
	return e.state.ConsensusParams.VoteExtensionsEnabled(h)
}

// extendVote asks the application for the extension of this node's
// precommit v for a block, when vote extensions are in force at its
// height, and checks it as every peer will (size, VerifyVoteExtension):
// an application whose own extension fails them would stall the chain, so
// the engine stops with an error naming it. ok is false when the block is
// not at hand (the precommit is then not signed).
func (e *Engine) extendVote(ctx context.Context, v *types.Vote) (ok bool, err error) {
	if !v.ExtendsBlock() || !e.extensionsAt(v.Height) {
		return true, nil
	}
	b := e.blocks[v.BlockID]
	if b == nil {
		e.log.Error("no block for an own precommit to extend; not signing it", append(e.pos(), "block", v.BlockID)...)
		return false, nil
	}
	resp, err := e.d.App.ExtendVote(ctx, &abci.RequestExtendVote{
		Hash:               hashBytes(b.Hash()),
		Height:             v.Height,
		Time:               b.Header.Time,
		Txs:                b.Data.Txs,
		ProposedLastCommit: commitInfo(b.LastCommit, e.state.LastValidators),
		Misbehavior:        misbehavior(b.Evidence),
		NextValidatorsHash: hashBytes(b.Header.NextValidatorsHash),
		ProposerAddress:    b.Header.ProposerAddress[:],
	})
	if err != nil {
		return false, fmt.Errorf("%w: ExtendVote at height %d: %w", ErrApp, v.Height, err)
	}
	// Non-nil even when empty: the signer signs the extension of a
	// precommit that carries one (see privval.Signer).
	v.Extension = append([]byte{}, resp.VoteExtension...)
	if len(v.Extension) > types.MaxVoteExtensionSize {
		return false, fmt.Errorf("%w: ExtendVote at height %d returned %d bytes, more than the %d a vote extension may have; fix the application",
			ErrApp, v.Height, len(v.Extension), types.MaxVoteExtensionSize)
	}
	accepted, err := e.verifyVoteExtension(ctx, v)
	if err != nil {
		return false, err
	}
	if !accepted {
		return false, fmt.Errorf("%w: VerifyVoteExtension rejects the extension this node's ExtendVote made at height %d; "+
			"the application's ExtendVote and VerifyVoteExtension disagree: fix the application", ErrApp, v.Height)
	}
	return true, nil
}

// verifyVoteExtension asks the application whether v's extension is
// acceptable.
func (e *Engine) verifyVoteExtension(ctx context.Context, v *types.Vote) (bool, error) {
	resp, err := e.d.App.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{
		Hash:             hashBytes(v.BlockID.Hash),
		ValidatorAddress: v.ValidatorAddress[:],
		Height:           v.Height,
		VoteExtension:    v.Extension,
	})
	if err != nil {
		return false, fmt.Errorf("%w: VerifyVoteExtension at height %d: %w", ErrApp, v.Height, err)
	}
	return resp.Status == abci.ResponseVerifyVoteExtension_ACCEPT, nil
}

// errExtensionRejected marks a peer's precommit whose extension the
// application rejected: it is not counted, not relayed, and its sender is
// not penalised (the application may be what is at fault).
var errExtensionRejected = errors.New("the application rejected the vote extension")

// checkVoteExtension checks a peer's vote, already verified, against the
// vote extension rules of its height: the extension's shape, its signature
// (a failure wraps ErrBadMessage), then the application's verdict (a
// rejection is errExtensionRejected).
func (e *Engine) checkVoteExtension(ctx context.Context, v *types.Vote) error {
	if v.Type != types.PrecommitType {
		return nil
	}
	enabled := e.extensionsAt(v.Height)
	if err := v.CheckExtension(enabled); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if !enabled || !v.ExtendsBlock() {
		return nil
	}
	if err := types.VerifyExtension(e.chain, e.state.Validators, v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if v.ValidatorAddress == e.self {
		return nil // this node's own, checked when it was made
	}
	accepted, err := e.verifyVoteExtension(ctx, v)
	if err != nil {
		return err
	}
	if !accepted {
		return errExtensionRejected
	}
	return nil
}

// checkExtendedCommit checks the extended commit a peer sent with a
// decided block of height h whose commit c has been verified: at a height
// with vote extensions in force it must be there, be c's, and carry a
// valid extension signature for each precommit for the block.
func (e *Engine) checkExtendedCommit(h int64, c *types.Commit, ec *types.ExtendedCommit) error {
	if !e.extensionsAt(h) {
		return nil
	}
	if ec == nil || ec.Commit != c {
		return fmt.Errorf("%w: block %d comes without its vote extensions, which are in force at that height", ErrBadMessage, h)
	}
	if err := ec.Check(true); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := ec.VerifyExtensions(e.chain, e.state.Validators); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return nil
}

// lastCommits are the commit of height h-1 for the block the proposer of
// h builds, and the same with its vote extensions (none at a height without
// them) for PrepareProposal; both nil at the initial height.
func (e *Engine) lastCommits(h int64) (*types.Commit, *types.ExtendedCommit, error) {
	st := e.state
	if h <= st.InitialHeight {
		return nil, nil, nil
	}
	if st.ConsensusParams.VoteExtensionsEnabled(h - 1) {
		ec, err := e.d.Store.LoadExtendedCommit(h - 1)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: the commit of height %d with its vote extensions, which the proposer of height %d gives the application: %w", ErrStore, h-1, h, err)
		}
		return ec.Commit, ec, nil
	}
	c, err := e.d.Store.LoadSeenCommit(h - 1)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: last commit: %w", ErrStore, err)
	}
	return c, types.WithoutExtensions(c), nil
}

// extendedCommitInfo is ec as PrepareProposal's local_last_commit: one
// entry per validator of vals, who signed it (commitInfo's), with the
// extensions.
func extendedCommitInfo(ec *types.ExtendedCommit, vals *types.ValidatorSet) abci.ExtendedCommitInfo {
	if ec == nil {
		return abci.ExtendedCommitInfo{}
	}
	info := commitInfo(ec.Commit, vals)
	out := abci.ExtendedCommitInfo{Round: info.Round, Votes: make([]abci.ExtendedVoteInfo, len(info.Votes))}
	for i, v := range info.Votes {
		out.Votes[i] = abci.ExtendedVoteInfo{
			Validator:          v.Validator,
			BlockIdFlag:        v.BlockIdFlag,
			VoteExtension:      ec.Extensions[i].Extension,
			ExtensionSignature: ec.Extensions[i].Signature,
		}
	}
	return out
}
