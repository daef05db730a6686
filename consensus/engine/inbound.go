package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// onInbound checks a peer's message and steps the core with it. A message
// that fails validation is reported to the transport; only storage and
// application failures are returned.
func (e *Engine) onInbound(ctx context.Context, in Inbound) error {
	var err error
	switch m := in.Msg.(type) {
	case ProposalHeaderMsg:
		err = e.onProposalHeader(in, m)
	case *ProposalHeaderMsg:
		err = e.onProposalHeader(in, *m)
	case ProposalMsg:
		err = e.onProposal(ctx, in, m)
	case *ProposalMsg:
		err = e.onProposal(ctx, in, *m)
	case VoteMsg:
		err = e.onVote(ctx, in, m)
	case *VoteMsg:
		err = e.onVote(ctx, in, *m)
	case CommitMsg:
		err = e.onCommit(ctx, m)
	case *CommitMsg:
		err = e.onCommit(ctx, *m)
	default:
		err = fmt.Errorf("%w: unknown message %T", ErrBadMessage, in.Msg)
	}
	if isBad(err) {
		e.log.Debug("bad message", append(e.pos(), "peer", in.From, "err", err)...)
		e.d.Transport.ReportPeer(in.From, err)
		return nil
	}
	return err
}

// admits applies the one admission window (msgs.Status.Admits) to a
// peer's message of height h and round r, before its signature is checked
// or anything is logged: one outside it is dropped unreported, since an
// honest peer may be rounds ahead of this node.
func (e *Engine) admits(h int64, r int32) bool {
	st := Status{Height: e.height()}
	if e.started {
		st.Round = e.core.RoundState().Round
	}
	return st.Admits(h, r)
}

// route says whether a message for height h is handled now (true), kept for
// later (buffered) or dropped.
func (e *Engine) route(in Inbound, h int64) bool {
	cur := e.height()
	if e.started && h == cur {
		return true
	}
	if (h == cur || h == cur+1) && len(e.future) < maxFuture {
		e.future = append(e.future, in)
	}
	return false
}

// firstSeen records a message's signature and says whether it is new at
// this height; rebroadcasts and gossip repeat messages.
func (e *Engine) firstSeen(sig []byte) bool {
	if _, ok := e.seen[string(sig)]; ok {
		return false
	}
	e.seen[string(sig)] = struct{}{}
	return true
}

func (e *Engine) onVote(ctx context.Context, in Inbound, m VoteMsg) error {
	v := m.Vote
	if v == nil {
		return fmt.Errorf("%w: empty vote message", ErrBadMessage)
	}
	if !e.admits(v.Height, v.Round) || !e.route(in, v.Height) || !e.firstSeen(v.Signature) {
		return nil
	}
	if err := types.VerifyVote(e.chain, e.state.Validators, v); err != nil {
		delete(e.seen, string(v.Signature))
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := e.checkVoteExtension(ctx, v); err != nil {
		if errors.Is(err, errExtensionRejected) {
			e.log.Info("not counting a precommit whose vote extension the application rejects", append(e.pos(), "peer", in.From, "validator", v.ValidatorAddress)...)
			return nil
		}
		if isBad(err) {
			delete(e.seen, string(v.Signature)) // a forged extension must not shadow the genuine precommit
		}
		return err
	}
	e.d.Transport.Relay(m) // verified: the transport may relay it
	e.trace.voteAge += time.Since(v.Timestamp)
	e.trace.votes++
	now := e.d.Clock.Now()
	rec, err := encodeVote(v, now)
	if err == nil {
		err = e.d.WAL.Write(kindVote, rec)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	return e.step(ctx, consensus.VoteReceived{Vote: v, Now: now})
}

func (e *Engine) onProposal(ctx context.Context, in Inbound, m ProposalMsg) error {
	p, b := m.Proposal, m.Block
	if p == nil || b == nil {
		return fmt.Errorf("%w: proposal message without proposal or block", ErrBadMessage)
	}
	if !e.admits(p.Height, p.Round) || !e.route(in, p.Height) || !e.firstSeen(p.Signature) {
		return nil
	}
	if err := e.checkProposal(p, b); err != nil {
		delete(e.seen, string(p.Signature))
		return err
	}
	e.d.Transport.Relay(m)
	now := e.d.Clock.Now()
	rec, err := encodeProposal(p, b, now)
	if err == nil {
		err = e.d.WAL.Write(kindProposal, rec)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	e.blocks[p.BlockID] = b
	mark(&e.trace.proposal)
	if err := e.payOwed(p); err != nil {
		return err
	}
	if err := e.step(ctx, consensus.ProposalReceived{Proposal: p, Now: now}); err != nil {
		return err
	}
	return e.stepOwn(ctx, consensus.ValueReceived{Height: p.Height, BlockID: p.BlockID, Now: now})
}

// onProposalHeader authenticates a proposal of the current height whose
// block is still arriving and, when it verifies, tells the transport it may
// relay it and its parts. It does not step the core: the ProposalMsg with
// the block does. One of the next height is buffered and checked when that
// height starts, so that a forgery holding the transport's slot for it is
// reported and the genuine proposal replaces it.
func (e *Engine) onProposalHeader(in Inbound, m ProposalHeaderMsg) error {
	p := m.Proposal
	if p == nil {
		return fmt.Errorf("%w: empty proposal header message", ErrBadMessage)
	}
	if !e.admits(p.Height, p.Round) || !e.route(in, p.Height) {
		return nil
	}
	if err := e.authProposal(p); err != nil {
		return err
	}
	e.d.Transport.Relay(m)
	return nil
}

// authProposal checks that p is signed by the proposer of its round. The
// caller has bounded the round (admits): finding the proposer of round r
// costs r steps.
func (e *Engine) authProposal(p *types.Proposal) error {
	proposer := e.state.Validators.ProposerForRound(p.Round)
	if err := types.VerifyProposal(e.chain, proposer, p); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return nil
}

// checkProposal authenticates a proposal and checks that its block is well
// formed and is the one it names. Whether the block is valid for the chain
// is ValidateValue's question.
func (e *Engine) checkProposal(p *types.Proposal, b *types.Block) error {
	if err := e.authProposal(p); err != nil {
		return err
	}
	if b.Header.Height != p.Height {
		return fmt.Errorf("%w: proposal for height %d carries a block of height %d", ErrBadMessage, p.Height, b.Header.Height)
	}
	if err := b.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	id, err := types.MakeBlockID(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if id != p.BlockID {
		return fmt.Errorf("%w: block %v is not the proposed %v", ErrBadMessage, id, p.BlockID)
	}
	return nil
}

// onCommit applies a decided block for the current height, delivered by
// block sync or catch-up, once its commit verifies.
func (e *Engine) onCommit(ctx context.Context, m CommitMsg) error {
	b, c := m.Block, m.Commit
	if b == nil || c == nil {
		return fmt.Errorf("%w: commit message without block or commit", ErrBadMessage)
	}
	h := e.height()
	if c.Height != h || b.Header.Height != h {
		return nil // not the height being decided: nothing to verify it against
	}
	if err := b.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	id, err := types.MakeBlockID(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := e.state.Validators.VerifyCommit(e.chain, id, h, c); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := e.checkHeader(b); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if err := e.checkExtendedCommit(h, c, m.Extended); err != nil {
		return err
	}
	ec := m.Extended
	if !e.extensionsAt(h) {
		ec = types.WithoutExtensions(c)
	}
	e.log.Info("applying a committed block from a peer", "height", h, "block", id)
	if err := e.applyBlock(ctx, b, id, ec); err != nil {
		return err
	}
	return e.startHeight(ctx)
}

// checkHeader checks a block's header against the state it must follow.
func (e *Engine) checkHeader(b *types.Block) error {
	st, hd := e.state, &b.Header
	h := e.height()
	switch {
	case hd.Version != st.HeaderVersion():
		return fmt.Errorf("%w: version %+v, want %+v", types.ErrInvalidBlock, hd.Version, st.HeaderVersion())
	case hd.ChainID != e.chain:
		return fmt.Errorf("%w: chain %q", types.ErrInvalidBlock, hd.ChainID)
	case hd.Height != h:
		return fmt.Errorf("%w: height %d, want %d", types.ErrInvalidBlock, hd.Height, h)
	case hd.LastBlockID != st.LastBlockID:
		return fmt.Errorf("%w: last block %v, want %v", types.ErrInvalidBlock, hd.LastBlockID, st.LastBlockID)
	case hd.ValidatorsHash != st.Validators.Hash():
		return fmt.Errorf("%w: validators hash", types.ErrInvalidBlock)
	case hd.NextValidatorsHash != st.NextValidators.Hash():
		return fmt.Errorf("%w: next validators hash", types.ErrInvalidBlock)
	case hd.ConsensusHash != st.ConsensusParams.Hash():
		return fmt.Errorf("%w: consensus hash", types.ErrInvalidBlock)
	case !bytes.Equal(hd.AppHash, st.AppHash):
		return fmt.Errorf("%w: app hash %X, want %X", types.ErrInvalidBlock, hd.AppHash, st.AppHash)
	case hd.LastResultsHash != st.LastResultsHash:
		return fmt.Errorf("%w: last results hash", types.ErrInvalidBlock)
	case h > st.InitialHeight && !hd.Time.After(st.LastBlockTime):
		return fmt.Errorf("%w: time %v is not after the last block's %v", types.ErrInvalidBlock, hd.Time, st.LastBlockTime)
	}
	if err := e.checkBlockSize(b); err != nil {
		return err
	}
	if _, v := st.Validators.ByAddress(hd.ProposerAddress); v == nil {
		return fmt.Errorf("%w: proposer %X is not a validator", types.ErrInvalidBlock, hd.ProposerAddress[:6])
	}
	if h == st.InitialHeight {
		if b.LastCommit != nil {
			return fmt.Errorf("%w: the first block has a last commit", types.ErrInvalidBlock)
		}
	} else if err := st.LastValidators.VerifyCommit(e.chain, st.LastBlockID, h-1, b.LastCommit); err != nil {
		return fmt.Errorf("%w: last commit: %w", types.ErrInvalidBlock, err)
	}
	// BFT time, once the last commit it is computed from is known to be good.
	want, err := types.BlockTime(h, st.InitialHeight, st.LastBlockTime, b.LastCommit, st.LastValidators)
	if err != nil {
		return fmt.Errorf("%w: %w", types.ErrInvalidBlock, err)
	}
	if !hd.Time.Equal(want) {
		return fmt.Errorf("%w: %w: %v, want %v (the genesis time for the first block, else the weighted median of the last commit's timestamps)",
			types.ErrInvalidBlock, types.ErrBlockTime, hd.Time, want)
	}
	if tol, now := e.cfg.BlockTimeTolerance, e.d.Clock.Now(); tol > 0 && !hd.Time.Before(now.Add(tol)) {
		return fmt.Errorf("%w: %w: %v is %v or more ahead of this node's clock %v: check the clock (consensus.block_time_tolerance)",
			types.ErrInvalidBlock, types.ErrBlockTime, hd.Time, tol, now)
	}
	return nil
}
