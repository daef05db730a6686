package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrInvalidNodeKey means node_key.json is malformed.
var ErrInvalidNodeKey = errors.New("invalid node key")

// ErrKeyExists means a key file is already there and was not overwritten.
var ErrKeyExists = errors.New("key file exists")

// PrivKeyTypeEd25519 is the type tag of an Ed25519 private key in JSON.
const PrivKeyTypeEd25519 = "tendermint/PrivKeyEd25519"

// NodeKey is the node's p2p identity; its public key gives the libp2p peer ID.
type NodeKey struct {
	PrivKey ed25519.PrivateKey
}

type nodeKeyJSON struct {
	PrivKey struct {
		Type  string `json:"type"`
		Value []byte `json:"value"`
	} `json:"priv_key"`
}

// GenNodeKey generates a node key and writes it to path (mode 0600). It
// refuses to overwrite an existing file: the node's identity would change
// under its peers.
func GenNodeKey(path string) (*NodeKey, error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (not overwriting; move it away first if you really want a new node identity)", ErrKeyExists, path)
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("config: generating node key: %w", err)
	}
	k := &NodeKey{PrivKey: priv}
	if err := k.Save(path); err != nil {
		return nil, err
	}
	return k, nil
}

// Save writes the key to path with mode 0600.
func (k *NodeKey) Save(path string) error {
	var j nodeKeyJSON
	j.PrivKey.Type = PrivKeyTypeEd25519
	j.PrivKey.Value = k.PrivKey
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("config: encoding node key: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// LoadNodeKey reads node_key.json.
func LoadNodeKey(path string) (*NodeKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading node key: %w", err)
	}
	var j nodeKeyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidNodeKey, path, err)
	}
	priv := ed25519.PrivateKey(j.PrivKey.Value)
	switch {
	case j.PrivKey.Type != PrivKeyTypeEd25519:
		return nil, fmt.Errorf("%w: %s: priv_key.type is %q, want %q", ErrInvalidNodeKey, path, j.PrivKey.Type, PrivKeyTypeEd25519)
	case len(priv) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("%w: %s: priv_key.value has %d bytes, want %d", ErrInvalidNodeKey, path, len(priv), ed25519.PrivateKeySize)
	case !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv):
		return nil, fmt.Errorf("%w: %s: the public half does not match the private key", ErrInvalidNodeKey, path)
	}
	return &NodeKey{PrivKey: priv}, nil
}

// LibP2PKey is the key in libp2p's form, for the p2p host.
func (k *NodeKey) LibP2PKey() (p2pcrypto.PrivKey, error) {
	pk, err := p2pcrypto.UnmarshalEd25519PrivateKey(k.PrivKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidNodeKey, err)
	}
	return pk, nil
}

// PeerID is the libp2p peer ID derived from the key.
func (k *NodeKey) PeerID() (peer.ID, error) {
	pk, err := k.LibP2PKey()
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(pk)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidNodeKey, err)
	}
	return id, nil
}
