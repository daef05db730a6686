// Package keyfile reads and writes Ed25519 keys in CometBFT's JSON key files
// (node_key.json and priv_validator_key.json), where a key is
// {"type":"tendermint/PrivKeyEd25519","value":"<base64>"}. The files are
// written atomically and durably with mode 0600.
package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Type tags of Ed25519 keys in a key file, as CometBFT writes them.
const (
	PubKeyTypeEd25519  = "tendermint/PubKeyEd25519"
	PrivKeyTypeEd25519 = "tendermint/PrivKeyEd25519"
)

// ErrMalformed means a key file was read but does not hold a well-formed
// key.
var ErrMalformed = errors.New("malformed key file")

// TypedKey is one key in a key file: its type tag and its bytes (base64 in
// JSON).
type TypedKey struct {
	Type  string `json:"type"`
	Value []byte `json:"value"`
}

// PrivKey is priv as a key file holds it.
func PrivKey(priv ed25519.PrivateKey) TypedKey {
	return TypedKey{Type: PrivKeyTypeEd25519, Value: priv}
}

// PubKey is pub as a key file holds it.
func PubKey(pub ed25519.PublicKey) TypedKey {
	return TypedKey{Type: PubKeyTypeEd25519, Value: pub}
}

// Ed25519PrivKey checks that k, the key file's priv_key, is a whole Ed25519
// private key (type tag, size, and a public half that the seed derives) and
// returns it. Its errors wrap ErrMalformed.
func (k TypedKey) Ed25519PrivKey() (ed25519.PrivateKey, error) {
	priv := ed25519.PrivateKey(k.Value)
	switch {
	case k.Type != PrivKeyTypeEd25519:
		return nil, fmt.Errorf("%w: priv_key.type is %q, want %q", ErrMalformed, k.Type, PrivKeyTypeEd25519)
	case len(priv) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("%w: priv_key.value has %d bytes, want %d", ErrMalformed, len(priv), ed25519.PrivateKeySize)
	case !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv):
		return nil, fmt.Errorf("%w: the public half of priv_key does not match its seed", ErrMalformed)
	}
	return priv, nil
}

// Read reads the key file at path and decodes its JSON into v. The error
// wraps ErrMalformed (without the path, which the caller adds) when the
// file was read but is not JSON of v's shape, and the read's error, with
// the path, otherwise.
func Read(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("keyfile: reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// ReadPrivKey reads the key file at path into v (see Read) and returns the
// private key k, which points into v, checked (see TypedKey.Ed25519PrivKey).
func ReadPrivKey(path string, v any, k *TypedKey) (ed25519.PrivateKey, error) {
	if err := Read(path, v); err != nil {
		return nil, err
	}
	return k.Ed25519PrivKey()
}

// Write encodes v as indented JSON and replaces the key file at path with
// it (mode 0600, see WriteAtomic), creating its directory (mode 0700).
func Write(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("keyfile: encoding %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	return WriteAtomic(path, append(data, '\n'))
}

// WriteAtomic replaces path with data, mode 0600: it writes a temporary
// file in the same directory, fsyncs it, renames it over path and fsyncs
// the directory, so that after a crash path holds either the old or the new
// content, never a mix, and the new content is durable once this returns.
func WriteAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, err = tmp.Write(data) // os.CreateTemp made it 0600
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("keyfile: writing %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
