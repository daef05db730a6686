// Package config is what an operator of bftnode edits: the home directory
// layout (config/config.toml, config/genesis.json, the key files, data/), the
// Config struct with its defaults and commented config.toml template, loading
// with the precedence file < BFTNODE_* environment < flags, validation with
// errors that say what to fix, the genesis document in CometBFT's JSON shape,
// and the node key (node_key.json) with its two names: the CometBFT node ID
// (hex of the key's address) and the libp2p peer ID.
//
// Section and key names follow CometBFT's config.toml where the meaning is
// the same, so an operator who knows CometBFT finds them where expected.
package config
