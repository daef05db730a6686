package byzantine

import (
	"fmt"
	"log/slog"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
)

// Decorate returns what makes an engine's validator misbehave in mode: it
// replaces the Deps' Signer and Transport with their decorators (and, for
// amnesia, sets WrapCore). key is the validator's raw private key (see
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
		case Equivocate, DoubleVote, FutureTime:
			s, err := NewSigner(d.Signer, key)
			if err != nil {
				return err
			}
			d.Signer = s
			d.Transport = &byzTransport{Transport: d.Transport, mode: mode, key: s, chain: chainID, log: logger,
				conflicts: map[string][]engine.Msg{}, coalition: coalition}
		default:
			return fmt.Errorf("%w: %q", ErrMode, mode)
		}
		logger.Warn("BYZANTINE TEST MODE: this validator misbehaves on purpose", "mode", mode)
		return nil
	}
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
