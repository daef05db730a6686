package config

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestNodeIDs checks the two names of a node key: the CometBFT node ID (hex
// of SHA-256(pub)[:20]; test/interop compares it with CometBFT's own
// derivation) and the libp2p peer ID, from which the node ID is recovered.
func TestNodeIDs(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &NodeKey{PrivKey: priv}
	sum := sha256.Sum256(pub)
	want := hex.EncodeToString(sum[:20])
	if got := k.NodeID(); got != want {
		t.Fatalf("NodeID = %s, want %s", got, want)
	}
	pid, err := k.PeerID()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := NodeIDOfPeer(pid); !ok || got != want {
		t.Fatalf("NodeIDOfPeer(%s) = %q, %v; want %s", pid, got, ok, want)
	}

	// A peer whose ID carries no Ed25519 key has no node ID.
	secp, _, err := p2pcrypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := peer.IDFromPrivateKey(secp)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := NodeIDOfPeer(other); ok {
		t.Fatalf("NodeIDOfPeer(secp256k1 peer) = %q, want none", got)
	}
	if _, ok := NodeIDOfPeer(peer.ID("not a peer id")); ok {
		t.Fatal("NodeIDOfPeer accepted a malformed peer ID")
	}
}
