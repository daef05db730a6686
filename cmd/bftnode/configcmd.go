package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
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
	cmd.AddCommand(show)
	return cmd
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, the commit it was built from and the Go version",
		Example: `  bftnode version`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			version, commit := "(devel)", "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				if bi.Main.Version != "" {
					version = bi.Main.Version
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			_, err := fmt.Fprintf(c.stdout, "bftnode %s (commit %s, %s)\n", version, commit, runtime.Version())
			return err
		},
	}
}
