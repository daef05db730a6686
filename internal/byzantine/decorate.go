package byzantine

import (
	"fmt"
	"log/slog"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
)

// Decorate returns what makes an engine's validator misbehave in mode: it
// replaces the Deps' Signer and Transport with their decorators (and, for
// amnesia and lockattack, sets WrapCore). key is the validator's raw private key (see
// ReadKey), chainID the chain's; the decorators log to logger (nil
// discards). None leaves the Deps as they are.
func Decorate(mode Mode, key []byte, chainID string, logger *slog.Logger) func(*engine.Deps) error {
	return decorate(mode, key, chainID, logger, nil)
}

func decorate(mode Mode, key []byte, chainID string, logger *slog.Logger, coalition *Coalition) func(*engine.Deps) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(d *engine.Deps) error {
		switch mode {
		case None:
			return nil
		case Amnesia:
			d.WrapCore = func(s *consensus.State) engine.Core { return amnesicCore{s} }
		case Silent:
			d.Transport = silentTransport{d.Transport}
		case Equivocate, DoubleVote, FutureTime, LockAttack, Garbage:
			s, err := NewSigner(d.Signer, key)
			if err != nil {
				return err
			}
			d.Signer = s
			d.Transport, d.WrapCore = signingTransport(mode, d.Transport, s, chainID, logger, coalition)
		default:
			return fmt.Errorf("%w: %q", ErrMode, mode)
		}
		logger.Warn("BYZANTINE TEST MODE: this validator misbehaves on purpose", "mode", mode)
		return nil
	}
}

// signingTransport is the Transport decorator of a mode that signs
// messages of its own with the raw key, and the core decorator it needs
// (nil: none).
func signingTransport(mode Mode, tr engine.Transport, s *Signer, chainID string, logger *slog.Logger, coalition *Coalition) (engine.Transport, func(*consensus.State) engine.Core) {
	switch mode {
	case Garbage:
		return &garbageTransport{Transport: tr, key: s, chain: chainID}, nil
	case LockAttack:
		if coalition == nil {
			coalition = NewCoalition()
		}
		wrap := func(st *consensus.State) engine.Core { return lockAttackCore{State: st, plans: &coalition.plans} }
		return &lockAttacker{Transport: tr, key: s, chain: chainID, log: logger, coalition: coalition}, wrap
	}
	return &byzTransport{Transport: tr, mode: mode, key: s, chain: chainID, log: logger,
		conflicts: map[string][]engine.Msg{}, coalition: coalition}, nil
}

// amnesicCore forgets its lock and valid value before every step.
type amnesicCore struct{ *consensus.State }

func (c amnesicCore) Step(ev consensus.Event) ([]consensus.Action, error) {
	c.ForgetLocks()
	return c.State.Step(ev)
}

// silentTransport sends no own message and relays nothing.
type silentTransport struct{ engine.Transport }

func (silentTransport) Broadcast(engine.Msg) {}
func (silentTransport) Relay(engine.Msg)     {}

// Decorate is package Decorate for a member of c: the simulator's
// Byzantine validators of one run collude (package simmodes). The
// decorators log nothing.
func (c *Coalition) Decorate(mode Mode, key []byte, chainID string) func(*engine.Deps) error {
	return decorate(mode, key, chainID, nil, c)
}
