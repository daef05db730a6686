package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/node"
)

// addNodeCmds adds the commands that run a node.
func (c *cli) addNodeCmds(root *cobra.Command) {
	root.AddCommand(c.startCmd())
}

func (c *cli) startCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run the node: consensus, p2p, mempool, application and JSON-RPC",
		Long: `start runs the node of the home directory until interrupted (Ctrl-C or
SIGTERM stop it cleanly). Settings come from config/config.toml, then the
BFTNODE_* environment variables, then the flags below, each named after its
config.toml key.`,
		Example: `  bftnode start --home ./build/localnet/node0
  bftnode start --rpc.laddr tcp://0.0.0.0:26657 --log-format json
  BFTNODE_P2P_PERSISTENT_PEERS=/ip4/10.0.0.2/tcp/26656/p2p/12D3KooW... bftnode start`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			logger, err := newLogger(c.stderr, cfg.LogLevel, cfg.LogFormat)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			n, err := node.New(ctx, cfg, logger)
			if err != nil {
				return fmt.Errorf("start: %w", err)
			}
			return n.Run(ctx)
		},
	}
	addConfigFlags(cmd.Flags())
	return cmd
}
