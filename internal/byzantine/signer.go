package byzantine

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/crypto/keyfile"
	"github.com/bftnode/bftnode/privval"
)

// ErrKey means the key given to a Byzantine validator is not its signer's.
var ErrKey = errors.New("byzantine: the key does not match the signer")

// Signer decorates a validator's guarded signer with its raw key. Every
// signature the engine asks for still goes through the guarded Signer and
// its double-sign protection; the raw key signs only the conflicting
// messages the Transport decorator makes, bypassing that protection on
// purpose.
type Signer struct {
	privval.Signer
	key ed25519.PrivateKey
}

// NewSigner decorates inner with key, which must be inner's.
func NewSigner(inner privval.Signer, key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize || !bytes.Equal(key.Public().(ed25519.PublicKey), inner.PubKey()) {
		return nil, ErrKey
	}
	return &Signer{Signer: inner, key: key}, nil
}

// sign signs msg with the raw key.
func (s *Signer) sign(msg []byte) []byte { return ed25519.Sign(s.key, msg) }

// ReadKey reads the raw private key of a priv_validator_key.json file.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	var kf struct {
		PrivKey keyfile.TypedKey `json:"priv_key"`
	}
	key, err := keyfile.ReadPrivKey(path, &kf, &kf.PrivKey)
	if err != nil {
		return nil, fmt.Errorf("byzantine: %w", err)
	}
	return key, nil
}
