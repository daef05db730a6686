package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// recover replays the WAL records of the current height through a fresh
// core with sends suppressed, then carries out the actions the log does not
// answer (a signature whose record was lost, a value never built, a
// decision not yet saved) and starts the height if the log had nothing.
func (e *Engine) recover(ctx context.Context) error {
	h := e.height()
	recs, err := e.d.WAL.ReplayFrom(h)
	if errors.Is(err, wal.ErrHeightNotFound) {
		// The block of h-1 was saved but the crash came before its
		// end-of-height marker: the log holds nothing for h yet.
		e.log.Info("WAL lacks the end of the last stored height; marking it", "height", h-1)
		if err := e.d.WAL.WriteEndHeight(h - 1); err != nil {
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
		recs, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	e.resetHeight()
	if len(recs) == 0 {
		return e.startHeight(ctx)
	}
	e.replaying = true
	for _, rec := range recs {
		ent, err := decodeRecord(rec, e.state.Validators)
		if err != nil {
			e.replaying = false
			return fmt.Errorf("%w: replaying height %d: %w", ErrStore, h, err)
		}
		for _, ev := range ent.events {
			if err := e.replayEvent(ctx, ev, ent.block); err != nil {
				e.replaying = false
				return err
			}
		}
	}
	e.replaying = false
	if !e.started {
		return e.startHeight(ctx)
	}
	pending := e.pending
	e.pending = nil
	e.log.Info("replayed the WAL", append(e.pos(), "records", len(recs), "unanswered_actions", len(pending))...)
	if err := e.execute(ctx, pending); err != nil {
		return err
	}
	return e.drain(ctx)
}

// replayEvent steps one logged event, matching it against the actions set
// aside so far.
func (e *Engine) replayEvent(ctx context.Context, ev consensus.Event, block *types.Block) error {
	switch ev := ev.(type) {
	case consensus.StartHeight:
		if e.started || ev.Height != e.height() {
			return nil
		}
		e.started = true
	case consensus.ProposalReceived:
		p := ev.Proposal
		if block != nil {
			e.blocks[p.BlockID] = block
		}
		e.seen[string(p.Signature)] = struct{}{}
		if e.state.Validators.ProposerForRound(p.Round).Address == e.self {
			resign := func() ([]byte, error) {
				c := *p
				err := e.d.Signer.SignProposal(e.chain, &c)
				return c.Signature, err
			}
			if err := e.confirmOwn("proposal", p.Signature, resign, func() {
				e.sent = append(e.sent, ProposalMsg{Proposal: p, Block: block})
			}); err != nil {
				return err
			}
			e.dropPending(func(a consensus.Action) bool {
				switch a := a.(type) {
				case consensus.SignProposal:
					return a.Proposal.Round == p.Round
				case consensus.RequestValue:
					return a.Round == p.Round
				}
				return false
			})
		}
	case consensus.ValueReady:
		if block != nil {
			e.blocks[ev.BlockID] = block
		}
		e.dropPending(func(a consensus.Action) bool {
			rv, ok := a.(consensus.RequestValue)
			return ok && rv.Height == ev.Height && rv.Round == ev.Round
		})
	case consensus.ValidityChecked:
		e.dropPending(func(a consensus.Action) bool {
			vv, ok := a.(consensus.ValidateValue)
			return ok && vv.BlockID == ev.BlockID
		})
	case consensus.VoteReceived:
		v := ev.Vote
		e.seen[string(v.Signature)] = struct{}{}
		if v.ValidatorAddress == e.self {
			resign := func() ([]byte, error) {
				c := *v
				err := e.d.Signer.SignVote(e.chain, &c)
				return c.Signature, err
			}
			if err := e.confirmOwn(v.Type.String(), v.Signature, resign, func() {
				e.sent = append(e.sent, VoteMsg{Vote: v})
			}); err != nil {
				return err
			}
			e.dropPending(func(a consensus.Action) bool {
				sv, ok := a.(consensus.SignVote)
				return ok && sv.Vote.Type == v.Type && sv.Vote.Round == v.Round
			})
		}
	}
	if !e.started {
		// Records before the height's start were lost with an unsynced
		// tail; start it now.
		e.started = true
		if err := e.step(ctx, consensus.StartHeight{Height: e.height(), Validators: e.state.Validators, Now: e.d.Clock.Now()}); err != nil && !isBad(err) {
			return err
		}
		if _, ok := ev.(consensus.StartHeight); ok {
			return nil
		}
	}
	if err := e.step(ctx, ev); err != nil && !isBad(err) {
		return err
	}
	return nil
}

func (e *Engine) dropPending(match func(consensus.Action) bool) {
	kept := e.pending[:0]
	for _, a := range e.pending {
		if !match(a) {
			kept = append(kept, a)
		}
	}
	e.pending = kept
}

// confirmOwn calls send, which lets an own message found in the WAL be
// rebroadcast, once the signer's saved state covers the message. The WAL's
// sync and the signer's save run together (see signVote), so a crash
// between them can leave a logged signature the signer's state lacks;
// resign, asking the signer for the same message again, then saves it
// (Ed25519 signatures are deterministic, so it is the same signature). A
// signer that has signed past the message saved it before (each signature
// waits for the previous one's save). A signer that refuses it otherwise,
// or signs it differently, means the WAL and the signer's state disagree:
// the message is not sent; so is a remote signer that does not sign it.
func (e *Engine) confirmOwn(what string, logged []byte, resign func() ([]byte, error), send func()) error {
	sig, err := resign()
	switch {
	case errors.Is(err, privval.ErrSignedPast):
	case errors.Is(err, privval.ErrDoubleSign), errors.Is(err, privval.ErrRemoteSigner):
		e.log.Error("the signer refuses an own message in the WAL; not sending it", append(e.pos(), "message", what, "err", err)...)
		return nil
	case err != nil:
		return fmt.Errorf("%w: re-signing an own %s from the WAL: %w", ErrStore, what, err)
	case !bytes.Equal(sig, logged):
		e.log.Error("an own message in the WAL has another signature than the signer's; not sending it", append(e.pos(), "message", what)...)
		return nil
	}
	send()
	return nil
}
