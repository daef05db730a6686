package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

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
			setMemoryLimit(cfg.MemoryLimitMB, os.Getenv, logger)
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

// setMemoryLimit sets the Go runtime's soft memory limit to mb MiB (none
// for 0), unless the GOMEMLIMIT environment variable already set one.
func setMemoryLimit(mb int64, getenv func(string) string, logger *slog.Logger) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		logger.Info("memory_limit_mb not applied: GOMEMLIMIT is set", "GOMEMLIMIT", v)
		return
	}
	if mb > 0 {
		debug.SetMemoryLimit(mb << 20)
	}
}
