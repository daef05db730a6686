package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/config"
)

func initHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	mustRun(t, "init", "--home", home, "--chain-id", "c", "--moniker", "m")
	return home
}

func setFileKey(t *testing.T, home, old, new string) {
	t.Helper()
	p := config.ConfigFilePath(home)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("config.toml lacks %q", old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigPrecedenceFileEnvFlag(t *testing.T) {
	home := initHome(t)
	setFileKey(t, home, `laddr = "tcp://127.0.0.1:26657"`, `laddr = "tcp://127.0.0.1:1001"`)
	setFileKey(t, home, `timeout_commit = "1s"`, `timeout_commit = "4s"`)
	setFileKey(t, home, `log_level = "info"`, `log_level = "debug"`)
	env := map[string]string{
		"BFTNODE_RPC_LADDR":                "tcp://127.0.0.1:1002",
		"BFTNODE_CONSENSUS_TIMEOUT_COMMIT": "5s",
		"BFTNODE_LOG_LEVEL":                "warn",
	}
	show := func(extra ...string) config.Config {
		t.Helper()
		r := runCLI(t, env, append([]string{"config", "show", "--home", home}, extra...)...)
		if r.code != 0 {
			t.Fatalf("config show: %s", r.stderr)
		}
		// The output is itself a config.toml; read it back.
		h := t.TempDir()
		if err := os.MkdirAll(filepath.Join(h, "config"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(config.ConfigFilePath(h), []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(h, nil)
		if err != nil {
			t.Fatalf("config show printed an unreadable config: %v\n%s", err, r.stdout)
		}
		return cfg
	}
	cfg := show()
	if cfg.RPC.ListenAddress != "tcp://127.0.0.1:1002" || cfg.Consensus.TimeoutCommit.String() != "5s" || cfg.LogLevel != "warn" {
		t.Fatalf("env should win over the file: %s %s %s", cfg.RPC.ListenAddress, cfg.Consensus.TimeoutCommit, cfg.LogLevel)
	}
	if cfg.Moniker != "m" {
		t.Fatalf("file value lost: moniker %q", cfg.Moniker)
	}
	cfg = show("--rpc.laddr", "tcp://127.0.0.1:1003", "--consensus.timeout_commit=6s", "--log-level", "error", "--consensus.skip_timeout_commit")
	if cfg.RPC.ListenAddress != "tcp://127.0.0.1:1003" || cfg.Consensus.TimeoutCommit.String() != "6s" || cfg.LogLevel != "error" || !cfg.Consensus.SkipTimeoutCommit {
		t.Fatalf("flags should win over env: %s %s %s %v", cfg.RPC.ListenAddress, cfg.Consensus.TimeoutCommit, cfg.LogLevel, cfg.Consensus.SkipTimeoutCommit)
	}
}

func TestBadConfigAndGenesisGiveClearErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, home string)
		env   map[string]string
		args  []string
		want  []string
	}{
		{"not initialized", func(*testing.T, string) {}, nil, nil, []string{"bftnode init"}},
		{"bad value in file", func(t *testing.T, home string) {
			setFileKey(t, home, `size = 5000`, `size = -1`)
		}, nil, nil, []string{"mempool.size = -1", "must be positive", "config.toml"}},
		{"unknown key", func(t *testing.T, home string) {
			setFileKey(t, home, `[mempool]`, "[mempool]\nsizee = 3")
		}, nil, nil, []string{"unknown keys mempool.sizee"}},
		{"bad env", nil, map[string]string{"BFTNODE_CONSENSUS_TIMEOUT_PROPOSE": "3"}, nil,
			[]string{"BFTNODE_CONSENSUS_TIMEOUT_PROPOSE", "duration"}},
		{"bad flag", nil, nil, []string{"--p2p.laddr", "0.0.0.0:26656"}, []string{"p2p.laddr", "/ip4/0.0.0.0/tcp/26656"}},
		{"bad log format", nil, nil, []string{"--log-format", "xml"}, []string{"log_format", "text, json"}},
		{"bad genesis", func(t *testing.T, home string) {
			p := filepath.Join(home, "config", "genesis.json")
			data, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.Replace(string(data), `"power": "10"`, `"power": "0"`, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, nil, []string{"genesis.json", "validators[0].power is 0", "positive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "empty")
			if c.name != "not initialized" {
				home = initHome(t)
			}
			if c.setup != nil {
				c.setup(t, home)
			}
			r := runCLI(t, c.env, append([]string{"config", "validate", "--home", home}, c.args...)...)
			if r.code != exitError {
				t.Fatalf("exit %d, want %d; stdout %s", r.code, exitError, r.stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}
