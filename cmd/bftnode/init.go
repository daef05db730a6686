package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/privval"
)

// defaultPower is each genesis validator's voting power.
const defaultPower = 10

func randomChainID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "test-chain-" + hex.EncodeToString(b)
}

func (c *cli) initCmd() *cobra.Command {
	var chainID string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a home directory: config, keys and a one-validator genesis",
		Long: `init creates the home directory layout: config/config.toml (kept if present),
config/node_key.json and config/priv_validator_key.json (mode 0600), a fresh
data/priv_validator_state.json, and config/genesis.json with this node as the
only validator (kept if present).

It refuses to run when key files exist: overwriting a validator key or its
last-sign state can lead to double-signing.`,
		Example: `  bftnode init --chain-id my-chain --moniker alice
  bftnode init --home /var/lib/bftnode --chain-id prod-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.configForInit(cmd)
			if err != nil {
				return err
			}
			h, err := config.InitHome(cfg)
			if err != nil {
				return err
			}
			genesisNote := "kept the existing genesis"
			if _, err := os.Stat(cfg.GenesisFile()); errors.Is(err, fs.ErrNotExist) {
				if chainID == "" {
					chainID = randomChainID()
				}
				g := &config.GenesisDoc{
					ChainID:     chainID,
					GenesisTime: time.Now().UTC().Truncate(time.Millisecond),
					Validators:  []config.GenesisValidator{config.NewGenesisValidator(h.Validator.PubKey(), defaultPower, cfg.Moniker)},
				}
				if err := g.Save(cfg.GenesisFile()); err != nil {
					return err
				}
				genesisNote = "chain " + chainID + ", 1 validator"
			}
			id, err := h.NodeKey.PeerID()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "Initialized %s\n  moniker:   %s\n  node ID:   %s\n  peer ID:   %s\n  validator: %X\n  genesis:   %s (%s)\n",
				cfg.RootDir, cfg.Moniker, h.NodeKey.NodeID(), id, h.Validator.Address(), cfg.GenesisFile(), genesisNote)
			return err
		},
	}
	cmd.Flags().StringVar(&chainID, "chain-id", "", "chain ID of the new genesis (default test-chain-<random>)")
	cmd.Flags().String("moniker", "", "this node's name (default the host name)")
	return cmd
}

// configForInit is the existing config.toml if there is one, else the
// defaults, with the environment and flags applied.
func (c *cli) configForInit(cmd *cobra.Command) (config.Config, error) {
	cfg, err := config.Load(c.home, c.lookupEnv)
	if errors.Is(err, config.ErrNotInitialized) {
		cfg = config.Default(c.home)
		if host, herr := os.Hostname(); herr == nil && host != "" {
			cfg.Moniker = host
		}
		err = cfg.ApplyEnv(c.lookupEnv)
	}
	if err != nil {
		return config.Config{}, err
	}
	if err := c.applyFlags(cmd, &cfg); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// homeConfig is the home's config if it has one, else the defaults: the key
// commands work on a bare directory of keys too.
func (c *cli) homeConfig(cmd *cobra.Command) (config.Config, error) {
	cfg, err := c.configForInit(cmd)
	if err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

func (c *cli) showNodeIDCmd() *cobra.Command {
	var libp2p bool
	cmd := &cobra.Command{
		Use:   "show-node-id",
		Short: "Print this node's ID (from config/node_key.json)",
		Long: `show-node-id prints the node ID that CometBFT derives from the same
config/node_key.json (the hex of the key's address), which the RPC reports
as node_info.id. With --libp2p it prints the libp2p peer ID instead: other
nodes name this one in p2p.persistent_peers as
/ip4/HOST/tcp/PORT/p2p/<peer ID>.`,
		Example: `  bftnode show-node-id --home ./localnet/build/node0
  bftnode show-node-id --libp2p --home ./localnet/build/node0`,
		Args: cobra.NoArgs,
		RunE: c.printNodeID(config.LoadNodeKey, &libp2p),
	}
	cmd.Flags().BoolVar(&libp2p, "libp2p", false, "print the libp2p peer ID (for p2p.persistent_peers) instead of the node ID")
	return cmd
}

func (c *cli) showValidatorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show-validator",
		Short: "Print this validator's public key as JSON",
		Long: `show-validator prints the public key of config/priv_validator_key.json in
CometBFT's JSON form, {"type":"tendermint/PubKeyEd25519","value":"<base64>"},
ready to paste into a genesis validator entry.`,
		Example: `  bftnode show-validator --home ./localnet/build/node1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.homeConfig(cmd)
			if err != nil {
				return err
			}
			pv, err := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
			if err != nil {
				return err
			}
			out, err := json.Marshal(config.PubKey{Type: config.PubKeyTypeEd25519, Value: pv.PubKey()})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.stdout, string(out))
			return err
		},
	}
}

func (c *cli) genValidatorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "gen-validator",
		Short: "Generate a validator key and a fresh last-sign state in the home directory",
		Long: `gen-validator writes a new config/priv_validator_key.json (mode 0600) and a
fresh data/priv_validator_state.json, then prints the address and public key.
It refuses to overwrite either file.`,
		Example: `  bftnode gen-validator --home ./newval`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.homeConfig(cmd)
			if err != nil {
				return err
			}
			pv, err := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
			if err != nil {
				return err
			}
			out, err := json.Marshal(config.PubKey{Type: config.PubKeyTypeEd25519, Value: pv.PubKey()})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "wrote %s\naddress: %X\npub_key: %s\n", cfg.PrivValidatorKeyFile(), pv.Address(), out)
			return err
		},
	}
}

func (c *cli) genNodeKeyCmd() *cobra.Command {
	var libp2p bool
	cmd := &cobra.Command{
		Use:   "gen-node-key",
		Short: "Generate config/node_key.json and print the node ID",
		Long: `gen-node-key writes a new node key (mode 0600) and prints its node ID (as
show-node-id does; --libp2p prints the libp2p peer ID). It refuses to
overwrite an existing key.`,
		Example: `  bftnode gen-node-key --home ./newnode`,
		Args:    cobra.NoArgs,
		RunE:    c.printNodeID(config.GenNodeKey, &libp2p),
	}
	cmd.Flags().BoolVar(&libp2p, "libp2p", false, "print the libp2p peer ID instead of the node ID")
	return cmd
}

// printNodeID is the RunE of show-node-id and gen-node-key: key loads or
// makes the home's node key, whose node ID (or with libp2p, its libp2p
// peer ID) is printed.
func (c *cli) printNodeID(key func(path string) (*config.NodeKey, error), libp2p *bool) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.homeConfig(cmd)
		if err != nil {
			return err
		}
		k, err := key(cfg.NodeKeyFile())
		if err != nil {
			return err
		}
		id := k.NodeID()
		if *libp2p {
			pid, err := k.PeerID()
			if err != nil {
				return err
			}
			id = pid.String()
		}
		_, err = fmt.Fprintln(c.stdout, id)
		return err
	}
}
