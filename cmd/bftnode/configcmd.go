package main

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/node"
	"github.com/bftnode/bftnode/privval"
)

func (c *cli) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file, then environment, then flags) as TOML",
		Long: `config show loads config/config.toml, applies the BFTNODE_* environment
variables and the flags, validates the result and prints it as a commented
config.toml. Every key can be given as a flag named after it.`,
		Example: `  bftnode config show
  BFTNODE_RPC_LADDR=tcp://0.0.0.0:26657 bftnode config show --consensus.timeout_commit 500ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			out, err := cfg.Render()
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(out)
			return err
		},
	}
	addConfigFlags(show.Flags())
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check config.toml, genesis.json and the key files of the home directory",
		Long: `config validate loads everything a node needs at start (the configuration
with the environment and flags applied, the genesis, the node key and the
validator key with its last-sign state) and reports the first problem with
what to fix.`,
		Example: `  bftnode config validate --home ./build/localnet/node0`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			g, err := config.LoadGenesis(cfg.GenesisFile())
			if err != nil {
				return err
			}
			nk, err := config.LoadNodeKey(cfg.NodeKeyFile())
			if err != nil {
				return err
			}
			id, err := nk.PeerID()
			if err != nil {
				return err
			}
			pv, err := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
			if err != nil {
				return err
			}
			role := "not a genesis validator"
			for _, v := range g.Validators {
				if bytes.Equal(v.PubKey.Value, pv.PubKey()) {
					role = fmt.Sprintf("genesis validator %q, power %d", v.Name, v.Power)
				}
			}
			_, err = fmt.Fprintf(c.stdout, "ok: %s\n  chain %s, %d validators, initial height %d\n  node ID %s, libp2p peer ID %s\n  validator %X (%s)\n",
				cfg.RootDir, g.ChainID, len(g.Validators), g.InitialHeight, nk.NodeID(), id, pv.Address(), role)
			return err
		},
	}
	addConfigFlags(validate.Flags())
	cmd.AddCommand(show, validate)
	return cmd
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, the commit it was built from and the Go version",
		Example: `  bftnode version`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			commit := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			_, err := fmt.Fprintf(c.stdout, "bftnode %s (commit %s, %s)\n", node.Version, commit, runtime.Version())
			return err
		},
	}
}
