package node

import (
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// Option adjusts New.
type Option func(*options)

type options struct {
	decorators []func(*engine.Deps) error
}

// WithEngineDeps lets decorate change the consensus engine's dependencies
// (its Transport, Signer, WrapCore) after New has built them and before it
// builds the engine; an error from decorate fails New. The bftnode command
// sets none; fault tests use it to run a misbehaving validator.
func WithEngineDeps(decorate func(*engine.Deps) error) Option {
	return func(o *options) { o.decorators = append(o.decorators, decorate) }
}

// Evidence returns the equivocations the node's consensus recorded (see
// engine.Engine.Evidence). Once their height is committed they become
// evidence in the node's pool, which proposers put in blocks.
func (n *Node) Evidence() []types.DuplicateVoteEvidence { return n.engine.Evidence() }
