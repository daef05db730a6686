package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bftnode/bftnode/privval"
)

// Home is what InitHome made or found in a home directory.
type Home struct {
	Config    Config
	NodeKey   *NodeKey
	Validator *privval.FilePV
}

// InitHome creates the home directory layout for cfg: config/config.toml
// (kept if present), node_key.json and priv_validator_key.json (mode 0600),
// a fresh data/priv_validator_state.json and the data directory. It refuses
// with ErrKeyExists when either key file already exists, and writes no
// genesis: the caller does (see GenesisDoc.Save).
func InitHome(cfg Config) (*Home, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, p := range []string{cfg.NodeKeyFile(), cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s; this home is already initialized (not overwriting keys or the last-sign state; use another --home)", ErrKeyExists, p)
		}
	}
	if err := os.MkdirAll(cfg.DataDir(), 0o700); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if _, err := os.Stat(cfg.ConfigFile()); errors.Is(err, fs.ErrNotExist) {
		if err := cfg.WriteFile(); err != nil {
			return nil, err
		}
	}
	nk, err := GenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, err
	}
	pv, err := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &Home{Config: cfg, NodeKey: nk, Validator: pv}, nil
}
