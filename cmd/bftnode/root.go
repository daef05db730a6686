package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bftnode/bftnode/config"
)

// cli holds what every command shares: the output streams, the environment
// and the global flags.
type cli struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)

	home      string
	logLevel  string
	logFormat string
}

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "bftnode",
		Short: "A Tendermint-style BFT blockchain node",
		Long: `bftnode is a Tendermint-style BFT consensus node: a pure consensus core,
libp2p gossip, a Pebble block store, and applications over ABCI 2.0.

Its files live in a home directory (--home, default ~/.bftnode):
  config/config.toml               settings (see ` + "`bftnode config show`" + `)
  config/genesis.json              the chain's genesis
  config/node_key.json             the p2p identity (libp2p peer ID)
  config/priv_validator_key.json   the validator's signing key
  data/priv_validator_state.json   the last-sign state (never delete it)
  data/                            block store, consensus WAL, app database`,
		Example: `  bftnode init --chain-id my-chain --moniker alice
  bftnode testnet --v 4 --o ./localnet/build
  bftnode sim --validators 4 --crashes 2 --seeds 100
  bftnode tx foo=bar && bftnode query foo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.home, "home", c.defaultHome(), "home directory (env BFTNODE_HOME)")
	pf.StringVar(&c.logLevel, "log-level", "", "log level: debug, info, warn or error (overrides log_level in config.toml)")
	pf.StringVar(&c.logFormat, "log-format", "", "log format: text or json (overrides log_format in config.toml)")

	root.AddCommand(
		c.initCmd(), c.testnetCmd(),
		c.showNodeIDCmd(), c.showValidatorCmd(), c.genValidatorCmd(), c.genNodeKeyCmd(),
		c.configCmd(), c.simCmd(), c.uiCmd(), c.walDumpCmd(),
		c.resetStateCmd(), c.unsafeResetAllCmd(), c.rollbackCmd(),
		c.txCmd(), c.queryCmd(), c.statusCmd(),
		c.appCmd(), c.versionCmd(), c.benchCmd(), c.lightCmd(),
	)
	c.addNodeCmds(root)
	return root
}

func (c *cli) defaultHome() string {
	if h, ok := c.lookupEnv("BFTNODE_HOME"); ok && h != "" {
		return h
	}
	if dir, err := os.UserHomeDir(); err == nil {
		return filepath.Join(dir, config.DefaultHomeName)
	}
	return config.DefaultHomeName
}

// addConfigFlags defines one flag per config.toml key, named as the key
// (--moniker, --rpc.laddr, --consensus.timeout_commit, …), except the log
// keys, which are the global --log-level and --log-format.
func addConfigFlags(fs *pflag.FlagSet) {
	for _, key := range config.Keys() {
		if key == "log_level" || key == "log_format" {
			continue
		}
		usage := fmt.Sprintf("overrides %s in config.toml (env %s)", key, config.EnvName(key))
		if config.IsBoolKey(key) {
			fs.String(key, "", usage+"; true or false")
			fs.Lookup(key).NoOptDefVal = "true"
			continue
		}
		fs.String(key, "", usage)
	}
}

// loadConfig loads the home's config.toml with the precedence
// defaults < file < BFTNODE_* environment < flags, and validates it.
func (c *cli) loadConfig(cmd *cobra.Command) (config.Config, error) {
	cfg, err := config.Load(c.home, c.lookupEnv)
	if err != nil {
		return config.Config{}, err
	}
	if err := c.applyFlags(cmd, &cfg); err != nil {
		return config.Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// applyFlags sets the config keys given as flags on cmd.
func (c *cli) applyFlags(cmd *cobra.Command, cfg *config.Config) error {
	if c.logLevel != "" {
		if err := cfg.Set("log_level", c.logLevel); err != nil {
			return err
		}
	}
	if c.logFormat != "" {
		if err := cfg.Set("log_format", c.logFormat); err != nil {
			return err
		}
	}
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if _, known := cfg.Get(f.Name); known && err == nil {
			if e := cfg.Set(f.Name, f.Value.String()); e != nil {
				err = fmt.Errorf("flag --%s: %w", f.Name, e)
			}
		}
	})
	return err
}
