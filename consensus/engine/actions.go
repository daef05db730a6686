package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/privval"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

func isBad(err error) bool { return errors.Is(err, ErrBadMessage) }

// execute carries out the core's actions in order. During WAL replay the
// actions whose answers the log may hold are set aside (see replay).
func (e *Engine) execute(ctx context.Context, acts []consensus.Action) error {
	for _, a := range acts {
		if e.replaying {
			switch a.(type) {
			case consensus.ScheduleTimeout, consensus.ReportEvidence:
			default:
				e.pending = append(e.pending, a)
				continue
			}
		}
		if err := e.do(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) do(ctx context.Context, a consensus.Action) error {
	switch a := a.(type) {
	case consensus.RequestValue:
		return e.requestValue(ctx, a)
	case consensus.ValidateValue:
		return e.validateValue(ctx, a)
	case consensus.SignProposal:
		return e.signProposal(a)
	case consensus.SignVote:
		return e.signVote(ctx, a)
	case consensus.ScheduleTimeout:
		e.after(a.Duration, Timer{kind: timerTimeout, height: a.Height, round: a.Round, step: a.Step})
	case consensus.Decide:
		return e.decide(ctx, a)
	case consensus.ReportEvidence:
		e.recordEvidence(a.Evidence)
	default:
		return fmt.Errorf("engine: unknown action %T", a)
	}
	return nil
}

// signVote signs an own vote and logs it (see signLogged), then broadcasts
// it and feeds it back. Its timestamp is BFT time's vote time: after the
// time of the block the core names (types.VoteTime). A precommit for a
// block carries the application's vote extension where they are in force.
func (e *Engine) signVote(ctx context.Context, a consensus.SignVote) error {
	v := a.Vote
	var after time.Time
	if b := e.blocks[a.After]; b != nil {
		after = b.Header.Time
	}
	v.Timestamp = types.VoteTime(v.Timestamp, after)
	if ok, err := e.extendVote(ctx, &v); !ok {
		return err
	}
	ok, refused, err := e.signLoggedVote(&v)
	if refused {
		ok, err = e.signedBefore(&v)
	}
	if !ok {
		return err
	}
	e.sendVote(&v)
	return nil
}

// sendVote makes a durably signed own vote public.
func (e *Engine) sendVote(v *types.Vote) {
	e.release(v.Signature, VoteMsg{Vote: v}, consensus.VoteReceived{Vote: v, Now: v.Timestamp})
	e.trace.markVote(v.Type)
}

// signLoggedVote signs and logs an own vote (see signLogged).
func (e *Engine) signLoggedVote(v *types.Vote) (ok, refused bool, err error) {
	return e.signLogged("vote", kindVote, func(alongside func() error) error {
		return e.d.Signer.SignVoteAlongside(e.chain, v, alongside)
	}, func() ([]byte, error) { return encodeVote(v, v.Timestamp) })
}

// signedBefore handles a vote the signer's double-sign guard refused:
// after a crash that lost its WAL record, the signer may hold a vote of
// this round and type it signed for another value, which was never sent,
// since a vote leaves only once its WAL record is durable. For a prevote
// (nil, or a block of this height) and for a nil precommit, that vote is
// looked for (the guard gives back its saved signature for the one it
// signed, and refuses the others), then logged and, when found, replaces
// v, so the round still gets this validator's vote and can reach its
// quorum. No second signature is ever made: only a guard that holds this
// round and step is asked (a remote signer that merely failed is not asked
// again). A prevote not found may be for a block the engine does not know
// yet (its proposal too was lost with the WAL): it is owed, and looked for
// again when a proposal of its round arrives (payOwed). A precommit for a
// block is not looked for: the lock that came with it was lost with the
// WAL, and sending it without the lock could help another block be
// decided in a later round.
func (e *Engine) signedBefore(v *types.Vote) (bool, error) {
	ids := []types.BlockID{{}}
	if v.Type == types.PrevoteType {
		for id := range e.blocks {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i].Hash[:], ids[j].Hash[:]) < 0 })
	for _, id := range ids {
		if id == v.BlockID {
			continue
		}
		if ok, err := e.signedFor(v, id); ok || err != nil {
			return ok, err
		}
	}
	if v.Type == types.PrevoteType {
		owed := *v
		e.owed = &owed
	}
	return false, nil
}

// signedFor asks the signer for v with block id instead: it gives back its
// saved signature if it signed that vote before, and refuses otherwise.
// Found, the vote is logged and replaces v.
func (e *Engine) signedFor(v *types.Vote, id types.BlockID) (bool, error) {
	c := *v
	c.BlockID, c.Signature = id, nil
	ok, _, err := e.signLoggedVote(&c)
	if ok {
		e.log.Warn("sending the vote the signer signed before a crash lost its WAL record", append(e.pos(), "type", v.Type, "block", id)...)
		*v = c
	}
	return ok, err
}

// payOwed sends the owed prevote (see signedBefore) if the signer signed
// it for the block of p, a proposal of its round just received.
func (e *Engine) payOwed(p *types.Proposal) error {
	if e.owed == nil || e.owed.Round != p.Round {
		return nil
	}
	v := *e.owed
	ok, err := e.signedFor(&v, p.BlockID)
	if !ok {
		return err
	}
	e.owed = nil
	e.sendVote(&v)
	return nil
}

// signProposal signs an own proposal and logs it (see signLogged), then
// broadcasts it and feeds it back.
func (e *Engine) signProposal(a consensus.SignProposal) error {
	p := a.Proposal
	b := e.blocks[p.BlockID]
	if b == nil {
		e.log.Error("no block for an own proposal", append(e.pos(), "block", p.BlockID)...)
		return nil
	}
	p.Timestamp = e.d.Clock.Now()
	ok, _, err := e.signLogged("proposal", kindProposal, func(alongside func() error) error {
		return e.d.Signer.SignProposalAlongside(e.chain, &p, alongside)
	}, func() ([]byte, error) { return encodeProposal(&p, b, p.Timestamp) })
	if !ok {
		return err
	}
	mark(&e.trace.proposal)
	e.release(p.Signature, ProposalMsg{Proposal: &p, Block: b}, consensus.ProposalReceived{Proposal: &p, Now: p.Timestamp})
	return nil
}

// signLogged signs an own message with sign, which runs its argument
// alongside the signer's save of its last-sign state: that writes the
// message's WAL record (kind, from record, which sees the signed message)
// with fsync. It reports true once both are durable, and only then may the
// message be released. A crash between the two leaves at most a WAL record
// the signer's state lacks, never sent: recovery re-signs it before sending
// it (see confirmOwn). A refusal by the signer's double-sign guard (it
// holds another message of that height, round and step: refused is true),
// or a remote signer that did not sign (privval.ErrRemoteSigner), is
// logged and reported as false with a nil error; what names the message
// there.
func (e *Engine) signLogged(what string, kind wal.Kind, sign func(alongside func() error) error, record func() ([]byte, error)) (ok, refused bool, err error) {
	var walSync time.Duration
	began := time.Now()
	err = sign(func() error {
		defer func(t time.Time) { walSync = time.Since(t) }(time.Now())
		rec, err := record()
		if err != nil {
			return err
		}
		return e.d.WAL.WriteSync(kind, rec)
	})
	if errors.Is(err, privval.ErrDoubleSign) {
		e.log.Warn("signer refused a "+what, append(e.pos(), "err", err)...)
		return false, true, nil
	}
	if errors.Is(err, privval.ErrRemoteSigner) {
		e.log.Error("the remote signer did not sign a "+what+"; not sending it, consensus goes on without it", append(e.pos(), "err", err)...)
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("%w: signing and logging: %w", ErrStore, err)
	}
	e.trace.sign += time.Since(began)
	e.trace.walSync += walSync
	return true, false, nil
}

// release makes a durably signed own message public: seen (so its echo is
// ignored), kept for rebroadcast, broadcast, and fed back to the core as ev.
func (e *Engine) release(sig []byte, msg Msg, ev consensus.Event) {
	e.seen[string(sig)] = struct{}{}
	e.sent = append(e.sent, msg)
	e.d.Transport.Broadcast(msg)
	e.feedback = append(e.feedback, ev)
}

// requestValue builds a block now, or, when empty blocks are not wanted
// and the mempool is empty, once txs arrive (or the empty-block interval
// passes).
func (e *Engine) requestValue(ctx context.Context, a consensus.RequestValue) error {
	if !e.cfg.CreateEmptyBlocks && len(e.d.Mempool.ReapMaxBytesMaxGas(1<<20, -1)) == 0 {
		e.waitValue = &a
		if e.cfg.CreateEmptyBlocksInterval > 0 {
			e.after(e.cfg.CreateEmptyBlocksInterval, Timer{kind: timerEmptyBlock, height: a.Height, round: a.Round})
		}
		return nil
	}
	return e.buildValue(ctx, a)
}

// proposeWaiting builds the block a proposer was waiting for txs to build.
func (e *Engine) proposeWaiting(ctx context.Context) error {
	w := e.waitValue
	if w == nil {
		return nil
	}
	e.waitValue = nil
	return e.buildValue(ctx, *w)
}

// buildValue makes a fresh block for (height, round): the header from the
// state, txs reaped from the mempool and passed through PrepareProposal.
func (e *Engine) buildValue(ctx context.Context, a consensus.RequestValue) error {
	if !e.started || a.Height != e.height() {
		return nil
	}
	st := e.state
	lastCommit, lastExtended, err := e.lastCommits(a.Height)
	if err != nil {
		return err
	}
	// BFT time: the genesis time, then the weighted median of the last
	// commit's timestamps, never this node's clock.
	bt, err := types.BlockTime(a.Height, st.InitialHeight, st.LastBlockTime, lastCommit, st.LastValidators)
	if err != nil {
		return fmt.Errorf("%w: time of the block to propose: %w", ErrStore, err)
	}
	var evs types.EvidenceList
	if e.d.Evidence != nil {
		evs = e.d.Evidence.Pending(e.state.ConsensusParams.EvidenceMaxBytes)
	}
	txBytes := e.maxTxBytes(evs)
	txs := e.d.Mempool.ReapMaxBytesMaxGas(txBytes, -1)
	resp, err := e.d.App.PrepareProposal(ctx, &abci.RequestPrepareProposal{
		MaxTxBytes:         txBytes,
		Txs:                txs,
		LocalLastCommit:    extendedCommitInfo(lastExtended, st.LastValidators),
		Misbehavior:        misbehavior(evs),
		Height:             a.Height,
		Time:               bt,
		NextValidatorsHash: hashBytes(st.NextValidators.Hash()),
		ProposerAddress:    e.self[:],
	})
	if err != nil {
		return fmt.Errorf("%w: PrepareProposal: %w", ErrApp, err)
	}
	b := &types.Block{
		Header: types.Header{
			Version:            st.HeaderVersion(),
			ChainID:            e.chain,
			Height:             a.Height,
			Time:               bt,
			LastBlockID:        st.LastBlockID,
			ValidatorsHash:     st.Validators.Hash(),
			NextValidatorsHash: st.NextValidators.Hash(),
			ConsensusHash:      st.ConsensusParams.Hash(),
			AppHash:            st.AppHash,
			LastResultsHash:    st.LastResultsHash,
			ProposerAddress:    e.self,
		},
		Data:       types.Data{Txs: resp.Txs},
		Evidence:   evs,
		LastCommit: lastCommit,
	}
	b.FillHeader()
	id, err := types.MakeBlockID(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	ev := consensus.ValueReady{Height: a.Height, Round: a.Round, BlockID: id, Now: e.d.Clock.Now()}
	rec, err := encodeValueReady(ev, b)
	if err == nil {
		err = e.d.WAL.Write(kindValueReady, rec)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	e.blocks[id] = b
	e.feedback = append(e.feedback, ev)
	return nil
}

// validateValue answers ValidateValue: the header must follow the state and
// the evidence pass the pool's checks, then the application decides
// (ProcessProposal).
func (e *Engine) validateValue(ctx context.Context, a consensus.ValidateValue) error {
	b := e.blocks[a.BlockID]
	if b == nil || a.Height != e.height() {
		return nil
	}
	valid := true
	if err := e.checkHeader(b); err != nil {
		e.log.Info("invalid block proposed", append(e.pos(), "block", a.BlockID, "err", err)...)
		valid = false
	} else if err := e.checkEvidence(b.Evidence); err != nil {
		e.log.Info("block proposed with invalid evidence", append(e.pos(), "block", a.BlockID, "err", err)...)
		valid = false
	} else {
		resp, err := e.d.App.ProcessProposal(ctx, &abci.RequestProcessProposal{
			Txs:                b.Data.Txs,
			ProposedLastCommit: commitInfo(b.LastCommit, e.state.LastValidators),
			Misbehavior:        misbehavior(b.Evidence),
			Hash:               hashBytes(b.Hash()),
			Height:             b.Header.Height,
			Time:               b.Header.Time,
			NextValidatorsHash: hashBytes(b.Header.NextValidatorsHash),
			ProposerAddress:    b.Header.ProposerAddress[:],
		})
		if err != nil {
			return fmt.Errorf("%w: ProcessProposal: %w", ErrApp, err)
		}
		valid = resp.Status == abci.ResponseProcessProposal_ACCEPT
	}
	ev := consensus.ValidityChecked{Height: a.Height, BlockID: a.BlockID, Valid: valid, Now: e.d.Clock.Now()}
	rec, err := encodeValidity(ev)
	if err == nil {
		err = e.d.WAL.Write(kindValidity, rec)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	e.feedback = append(e.feedback, ev)
	return nil
}

// decide commits a decided block and schedules the next height after the
// commit delay.
func (e *Engine) decide(ctx context.Context, a consensus.Decide) error {
	b := e.blocks[a.BlockID]
	if b == nil {
		e.log.Error("decided a block this node does not have; waiting for block sync", append(e.pos(), "block", a.BlockID)...)
		return nil
	}
	mark(&e.trace.decide)
	ec := a.Extended
	if ec == nil {
		ec = types.WithoutExtensions(a.Commit)
	}
	if err := e.applyBlock(ctx, b, a.BlockID, ec); err != nil {
		return err
	}
	e.logTrace(b.Header.Height)
	e.after(e.cfg.CommitDelay, Timer{kind: timerStartHeight, height: e.height()})
	return nil
}

func hashBytes(h types.Hash) []byte { return h[:] }
