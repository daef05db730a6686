package node

import (
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// ErrByzantineNotAllowed means a Byzantine test mode was asked for on a
// chain whose genesis does not allow them.
var ErrByzantineNotAllowed = errors.New("node: byzantine test modes are not allowed on this chain")

// Option adjusts New.
type Option func(*options)

type options struct {
	byzantine engine.ByzantineMode
}

// WithByzantine makes the node's validator misbehave on purpose (see
// engine.ByzantineMode), for fault tests. New refuses it with
// ErrByzantineNotAllowed unless the genesis sets
// "bftnode_allow_byzantine_test_modes": true.
func WithByzantine(mode engine.ByzantineMode) Option {
	return func(o *options) { o.byzantine = mode }
}

// byzantine checks the genesis gate for mode and returns what the engine
// needs to run it (nil for a correct node).
func byzantine(mode engine.ByzantineMode, g *config.GenesisDoc, keyFile string) (*engine.Byzantine, error) {
	if mode == engine.ByzantineNone {
		return nil, nil
	}
	if _, err := engine.ParseByzantineMode(string(mode)); err != nil {
		return nil, err
	}
	if !g.AllowByzantineTestModes {
		return nil, fmt.Errorf("%w: --byzantine %s needs \"bftnode_allow_byzantine_test_modes\": true in the genesis of chain %q (a test-only setting)",
			ErrByzantineNotAllowed, mode, g.ChainID)
	}
	key, err := privval.ReadPrivateKey(keyFile)
	if err != nil {
		return nil, err
	}
	return &engine.Byzantine{Mode: mode, Key: key}, nil
}

// Evidence returns the equivocations the node's consensus recorded (see
// engine.Engine.Evidence). They are kept in memory only: not gossiped, not
// put in blocks.
func (n *Node) Evidence() []types.DuplicateVoteEvidence { return n.engine.Evidence() }
