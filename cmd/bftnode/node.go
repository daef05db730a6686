package main

import "github.com/spf13/cobra"

// addNodeCmds adds the commands that run a node (start). They need package
// node, which is not written yet; until then there are none.
func (c *cli) addNodeCmds(*cobra.Command) {}
