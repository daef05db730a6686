// Package simmodes offers package byzantine's modes to the simulator's
// command line (package sim/simcli): the bftnode-sim development binary and
// the command's tests use it; the bftnode binary does not.
package simmodes

import (
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/sim"
	"github.com/bftnode/bftnode/sim/simcli"
)

// Misbehaviours are package byzantine's modes, for the simulator. Mix
// leaves futuretime out, so that a seed picks what it picked before that
// mode came.
func Misbehaviours() *simcli.Misbehaviours {
	m := &simcli.Misbehaviours{Misbehave: byzantine.Misbehaviour(sim.ChainID)}
	for _, mode := range byzantine.Modes() {
		m.Names = append(m.Names, string(mode))
		if mode != byzantine.FutureTime {
			m.MixOf = append(m.MixOf, sim.Behaviour(mode))
		}
	}
	return m
}
