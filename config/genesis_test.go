package config

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testGenesis(t *testing.T, n int) *GenesisDoc {
	t.Helper()
	g := &GenesisDoc{ChainID: "test-chain", GenesisTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for i := range n {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		g.Validators = append(g.Validators, NewGenesisValidator(pub, 10, "node"+string(rune('0'+i))))
	}
	return g
}

func TestGenesisSaveLoadShape(t *testing.T) {
	g := testGenesis(t, 3)
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := g.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// CometBFT's shape: int64s as strings, typed keys, upper-hex addresses.
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["initial_height"] != "1" || raw["chain_id"] != "test-chain" {
		t.Fatalf("initial_height/chain_id: %v %v", raw["initial_height"], raw["chain_id"])
	}
	v0 := raw["validators"].([]any)[0].(map[string]any)
	if v0["power"] != "10" || v0["pub_key"].(map[string]any)["type"] != PubKeyTypeEd25519 {
		t.Fatalf("validator shape: %v", v0)
	}
	if a := v0["address"].(string); len(a) != 40 || strings.ToUpper(a) != a {
		t.Fatalf("address %q is not 40 upper-case hex digits", a)
	}
	cp := raw["consensus_params"].(map[string]any)
	if cp["block"].(map[string]any)["max_bytes"] != "4194304" {
		t.Fatalf("consensus_params: %v", cp)
	}
	got, err := LoadGenesis(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.GenesisTime.Equal(g.GenesisTime) || len(got.Validators) != 3 || got.InitialHeight != 1 {
		t.Fatalf("loaded %+v", got)
	}
	vs, err := got.ValidatorSet()
	if err != nil || vs.Size() != 3 || vs.TotalVotingPower() != 30 {
		t.Fatalf("validator set %v %v", vs, err)
	}
}

func TestGenesisErrors(t *testing.T) {
	good := testGenesis(t, 2)
	enc := func(edit func(*GenesisDoc)) []byte {
		c := *good
		c.Validators = append([]GenesisValidator(nil), good.Validators...)
		edit(&c)
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("{"), "not a genesis document"},
		{"unknown field", []byte(`{"chain_idd":"x"}`), "chain_idd"},
		{"height not a string", []byte(`{"chain_id":"x","initial_height":1}`), "initial_height"},
		{"no chain id", enc(func(g *GenesisDoc) { g.ChainID = "" }), "chain_id is empty"},
		{"long chain id", enc(func(g *GenesisDoc) { g.ChainID = strings.Repeat("x", 51) }), "limit is 50"},
		{"no validators", enc(func(g *GenesisDoc) { g.Validators = nil }), "validators is empty"},
		{"zero power", enc(func(g *GenesisDoc) { g.Validators[1].Power = 0 }), "validators[1].power"},
		{"short key", enc(func(g *GenesisDoc) { g.Validators[0].PubKey.Value = []byte{1, 2} }), "validators[0].pub_key.value"},
		{"key type", enc(func(g *GenesisDoc) { g.Validators[0].PubKey.Type = "tendermint/PubKeySecp256k1" }), "only"},
		{"wrong address", enc(func(g *GenesisDoc) { g.Validators[0].Address = make([]byte, 20) }), "does not match its pub_key"},
		{"duplicate", enc(func(g *GenesisDoc) { g.Validators[1] = g.Validators[0] }), "validators:"},
		{"bad params", enc(func(g *GenesisDoc) {
			p := DefaultConsensusParams()
			p.Block.MaxBytes = 0
			g.ConsensusParams = &p
		}), "consensus_params.block.max_bytes"},
		{"vote extensions", enc(func(g *GenesisDoc) {
			p := DefaultConsensusParams()
			p.ABCI.VoteExtensionsEnableHeight = -1
			g.ConsensusParams = &p
		}), "consensus_params.abci.vote_extensions_enable_height is -1"},
		{"long authority", enc(func(g *GenesisDoc) {
			p := DefaultConsensusParams()
			p.Authority.Authority = strings.Repeat("a", MaxAuthorityLen+1)
			g.ConsensusParams = &p
		}), "consensus_params.authority.authority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseGenesis(c.data)
			if !errors.Is(err, ErrInvalidGenesis) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalidGenesis mentioning %q", err, c.want)
			}
		})
	}
}

func TestNodeKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "node_key.json")
	k, err := GenNodeKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	if _, err := GenNodeKey(path); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second GenNodeKey: %v", err)
	}
	back, err := LoadNodeKey(path)
	if err != nil {
		t.Fatal(err)
	}
	id1, err1 := k.PeerID()
	id2, err2 := back.PeerID()
	if err1 != nil || err2 != nil || id1 != id2 || !strings.HasPrefix(id1.String(), "12D3KooW") {
		t.Fatalf("peer IDs %s %s (%v %v)", id1, id2, err1, err2)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"type": "tendermint/PrivKeyEd25519"`) {
		t.Fatalf("node_key.json: %s", data)
	}
	if err := os.WriteFile(path, []byte(`{"priv_key":{"type":"x","value":""}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNodeKey(path); !errors.Is(err, ErrInvalidNodeKey) {
		t.Fatalf("bad key: %v", err)
	}
}

func TestInitHome(t *testing.T) {
	cfg := Default(t.TempDir())
	if _, err := InitHome(cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cfg.NodeKeyFile(), cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, st, err)
		}
	}
	if _, err := Load(cfg.RootDir, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfg.PrivValidatorKeyFile())
	if _, err := InitHome(cfg); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second InitHome: %v", err)
	}
	after, _ := os.ReadFile(cfg.PrivValidatorKeyFile())
	if string(before) != string(after) {
		t.Fatal("second InitHome changed the validator key")
	}
}
