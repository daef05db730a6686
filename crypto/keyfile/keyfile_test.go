package keyfile

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type nodeKey struct {
	PrivKey TypedKey `json:"priv_key"`
}

func TestWriteRead(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub", "node_key.json")
	if err := Write(path, nodeKey{PrivKey: PrivKey(priv)}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), `"type": "tendermint/PrivKeyEd25519"`) {
		t.Fatalf("file %s, %v", data, err)
	}
	var back nodeKey
	got, err := ReadPrivKey(path, &back, &back.PrivKey)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("read back %x, %v", got, err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	var k nodeKey
	if err := Read(filepath.Join(dir, "missing.json"), &k); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrMalformed) {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Read(path, &k); !errors.Is(err, ErrMalformed) {
		t.Fatalf("not JSON: %v", err)
	}
}

func TestEd25519PrivKeyRejects(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	badHalf := append(ed25519.PrivateKey(nil), priv...)
	badHalf[63] ^= 1
	for name, k := range map[string]TypedKey{
		"wrong type":      {Type: PubKeyTypeEd25519, Value: priv},
		"short":           PrivKey(priv[:32]),
		"bad public half": PrivKey(badHalf),
	} {
		if _, err := k.Ed25519PrivKey(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
