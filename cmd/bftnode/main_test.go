package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/config"
)

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs bftnode with args and the environment env (nothing else of the
// process environment is visible).
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(context.Background(), args, &out, &errOut, lookup)
	return result{out.String(), errOut.String(), code}
}

func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runCLI(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("bftnode %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func TestInitCreatesLayoutAndRefusesToOverwrite(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	r := mustRun(t, "init", "--home", home, "--chain-id", "my-chain", "--moniker", "alice")
	if !strings.Contains(r.stdout, "Initialized "+home) {
		t.Fatalf("stdout: %s", r.stdout)
	}
	for _, f := range []struct {
		rel  string
		mode os.FileMode
	}{
		{"config/config.toml", 0o644},
		{"config/genesis.json", 0o644},
		{"config/node_key.json", 0o600},
		{"config/priv_validator_key.json", 0o600},
		{"data/priv_validator_state.json", 0o600},
	} {
		st, err := os.Stat(filepath.Join(home, f.rel))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.rel, st.Mode().Perm(), f.mode)
		}
	}
	cfg, err := config.Load(home, nil)
	if err != nil || cfg.Moniker != "alice" {
		t.Fatalf("config: moniker %q, %v", cfg.Moniker, err)
	}
	g, err := config.LoadGenesis(cfg.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	if g.ChainID != "my-chain" || len(g.Validators) != 1 || g.Validators[0].Name != "alice" {
		t.Fatalf("genesis: %+v", g)
	}
	var pk config.PubKey
	if err := json.Unmarshal([]byte(mustRun(t, "show-validator", "--home", home).stdout), &pk); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pk.Value, g.Validators[0].PubKey.Value) {
		t.Fatal("show-validator differs from the genesis validator")
	}
	nodeID := strings.TrimSpace(mustRun(t, "show-node-id", "--home", home).stdout)
	peerID := strings.TrimSpace(mustRun(t, "show-node-id", "--libp2p", "--home", home).stdout)
	if !strings.Contains(r.stdout, "node ID:   "+nodeID+"\n") || !strings.Contains(r.stdout, "peer ID:   "+peerID+"\n") {
		t.Fatalf("show-node-id %q and --libp2p %q not both in init's output:\n%s", nodeID, peerID, r.stdout)
	}

	keyBefore, _ := os.ReadFile(cfg.PrivValidatorKeyFile())
	nodeBefore, _ := os.ReadFile(cfg.NodeKeyFile())
	again := runCLI(t, nil, "init", "--home", home, "--chain-id", "other")
	if again.code == 0 || !strings.Contains(again.stderr, "already initialized") {
		t.Fatalf("second init: exit %d, stderr %s", again.code, again.stderr)
	}
	keyAfter, _ := os.ReadFile(cfg.PrivValidatorKeyFile())
	nodeAfter, _ := os.ReadFile(cfg.NodeKeyFile())
	if !bytes.Equal(keyBefore, keyAfter) || !bytes.Equal(nodeBefore, nodeAfter) {
		t.Fatal("second init changed a key file")
	}
	for _, cmd := range []string{"gen-validator", "gen-node-key"} {
		if r := runCLI(t, nil, cmd, "--home", home); r.code == 0 {
			t.Errorf("%s overwrote a key", cmd)
		}
	}
	mustRun(t, "config", "validate", "--home", home)
}

func TestGenKeysInEmptyHome(t *testing.T) {
	home := t.TempDir()
	r := mustRun(t, "gen-node-key", "--home", home)
	k, err := config.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The node ID is CometBFT's: the hex of SHA-256(public key)[:20].
	sum := sha256.Sum256(k.PrivKey.Public().(ed25519.PublicKey))
	if want := hex.EncodeToString(sum[:20]) + "\n"; r.stdout != want {
		t.Fatalf("gen-node-key printed %q, want the node ID %q", r.stdout, want)
	}
	if got := mustRun(t, "show-node-id", "--home", home).stdout; got != r.stdout {
		t.Fatalf("show-node-id %q, gen-node-key %q", got, r.stdout)
	}
	if got := mustRun(t, "show-node-id", "--libp2p", "--home", home).stdout; !strings.HasPrefix(got, "12D3KooW") {
		t.Fatalf("show-node-id --libp2p: %q, want a libp2p peer ID", got)
	}
	r = mustRun(t, "gen-validator", "--home", home)
	if !strings.Contains(r.stdout, "tendermint/PubKeyEd25519") {
		t.Fatalf("gen-validator: %s", r.stdout)
	}
	st, err := os.Stat(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("priv_validator_key.json: %v %v", st, err)
	}
}

func TestHelpHasExamples(t *testing.T) {
	root := (&cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, lookupEnv: func(string) (string, bool) { return "", false }}).rootCmd()
	var check func(path []string)
	check = func(path []string) {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range cmd.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			check(append(append([]string(nil), path...), sub.Name()))
		}
		if cmd.Runnable() {
			r := mustRun(t, append(path, "--help")...)
			if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--home") {
				t.Errorf("bftnode %s --help lacks examples or global flags:\n%s", strings.Join(path, " "), r.stdout)
			}
		}
	}
	check(nil)
}

func TestVersion(t *testing.T) {
	if r := mustRun(t, "version"); !strings.HasPrefix(r.stdout, "bftnode ") {
		t.Fatalf("version: %q", r.stdout)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	r := runCLI(t, nil, "frobnicate")
	if r.code != exitError || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}
