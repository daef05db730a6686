package main

import (
	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/sim/simcli"
)

// simCmd is `bftnode sim`: the simulator with correct validators only (the
// Byzantine behaviours are in the bftnode-sim development binary).
func (c *cli) simCmd() *cobra.Command { return simcli.Command(c.stdout, c.stderr, nil) }
