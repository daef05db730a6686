package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// The Byzantine test-mode gate is off and absent from the file unless set,
// and survives a save and load when set.
func TestGenesisByzantineGate(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "genesis.json")
	g := &GenesisDoc{GenesisTime: time.Unix(1, 0).UTC(), ChainID: "gate", Validators: []GenesisValidator{NewGenesisValidator(pub, 1, "v")}}
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("bftnode_allow_byzantine_test_modes")) {
		t.Fatalf("the gate is written when off: %s", data)
	}
	parsed, err := ParseGenesis(data)
	if err != nil || parsed.AllowByzantineTestModes {
		t.Fatalf("default genesis: allow=%v, err %v", parsed != nil && parsed.AllowByzantineTestModes, err)
	}
	g.AllowByzantineTestModes = true
	if err := g.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadGenesis(path)
	if err != nil || !loaded.AllowByzantineTestModes {
		t.Fatalf("saved with the gate on: allow=%v, err %v", loaded != nil && loaded.AllowByzantineTestModes, err)
	}
}
