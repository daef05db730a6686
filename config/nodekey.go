package config

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bftnode/bftnode/crypto/keyfile"
	"github.com/bftnode/bftnode/types"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrInvalidNodeKey means node_key.json is malformed.
var ErrInvalidNodeKey = errors.New("invalid node key")

// ErrKeyExists means a key file is already there and was not overwritten.
var ErrKeyExists = errors.New("key file exists")

// NodeKey is the node's p2p identity. Its public key gives two names for
// the node: the node ID CometBFT derives from the same file (NodeID), which
// the RPC reports, and the libp2p peer ID (PeerID), which peers dial.
type NodeKey struct {
	PrivKey ed25519.PrivateKey
}

type nodeKeyJSON struct {
	PrivKey keyfile.TypedKey `json:"priv_key"`
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
	return keyfile.Write(path, nodeKeyJSON{PrivKey: keyfile.PrivKey(k.PrivKey)})
}

// LoadNodeKey reads node_key.json.
func LoadNodeKey(path string) (*NodeKey, error) {
	var j nodeKeyJSON
	priv, err := keyfile.ReadPrivKey(path, &j, &j.PrivKey)
	if errors.Is(err, keyfile.ErrMalformed) {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidNodeKey, path, err)
	}
	if err != nil {
		return nil, err
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

// NodeID is the node's ID as CometBFT derives it from the same
// node_key.json: see NodeIDOf.
func (k *NodeKey) NodeID() string {
	return NodeIDOf(k.PrivKey.Public().(ed25519.PublicKey))
}

// NodeIDOf is the CometBFT node ID of an Ed25519 public key: the lower-case
// hex of the key's address, the first 20 bytes of its SHA-256.
func NodeIDOf(pub ed25519.PublicKey) string {
	a := types.AddressOf(pub)
	return hex.EncodeToString(a[:])
}

// NodeIDOfPeer is the CometBFT node ID of a libp2p peer, false when its
// peer ID does not carry an Ed25519 public key (every bftnode's does).
func NodeIDOfPeer(id peer.ID) (string, bool) {
	pk, err := id.ExtractPublicKey()
	if err != nil || pk.Type() != p2pcrypto.Ed25519 {
		return "", false
	}
	raw, err := pk.Raw()
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return "", false
	}
	return NodeIDOf(raw), true
}
