package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, home, text string) {
	t.Helper()
	p := ConfigFilePath(home)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func envMap(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsValidateAndRoundTrip(t *testing.T) {
	home := t.TempDir()
	cfg := Default(home)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cfg.Moniker = `we"ird\name`
	cfg.Consensus.TimeoutCommit = 1500 * time.Millisecond
	cfg.Mempool.Type, cfg.Mempool.ReapInterval, cfg.Mempool.ReapMaxBytes = MempoolTypeApp, 250*time.Millisecond, 1<<20
	cfg.P2P.PersistentPeers = "/ip4/127.0.0.1/tcp/26656/p2p/12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE"
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != cfg {
		t.Fatalf("round trip changed the config:\n got %+v\nwant %+v", got, cfg)
	}
	text, _ := os.ReadFile(cfg.ConfigFile())
	for _, want := range []string{"[rpc]", "laddr = \"tcp://127.0.0.1:26657\"", "[consensus]", "timeout_commit = \"1.5s\"", "block_time_tolerance = \"1m0s\"", "[instrumentation]", "prometheus_listen_addr = \":26660\"",
		"type = \"app\"", "reap_interval = \"250ms\"", "reap_max_bytes = 1048576", "seen_cache_size = 100000", "check_tx_retry_delay = \"5s\""} {
		if !strings.Contains(string(text), want) {
			t.Errorf("config.toml lacks %q", want)
		}
	}
}

func TestLoadPrecedence(t *testing.T) {
	home := t.TempDir()
	writeConfig(t, home, `
moniker = "from-file"
log_level = "debug"
[rpc]
laddr = "tcp://127.0.0.1:1111"
[consensus]
timeout_commit = "3s"
`)
	cfg, err := Load(home, envMap(map[string]string{
		"BFTNODE_RPC_LADDR":                     "tcp://127.0.0.1:2222",
		"BFTNODE_LOG_LEVEL":                     "warn",
		"BFTNODE_CONSENSUS_SKIP_TIMEOUT_COMMIT": "true",
		"BFTNODE_LONG":                          "1", // not a key: ignored
	}))
	if err != nil {
		t.Fatal(err)
	}
	// A flag, applied by the caller after Load, wins over the environment.
	if err := cfg.Set("log_level", "error"); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ key, want string }{
		{"moniker", "from-file"},              // file over default
		{"rpc.laddr", "tcp://127.0.0.1:2222"}, // env over file
		{"log_level", "error"},                // flag over env
		{"consensus.timeout_commit", "3s"},    // file over default
		{"consensus.skip_timeout_commit", "true"},
		{"p2p.laddr", "/ip4/0.0.0.0/tcp/26656"}, // default
	}
	for _, c := range checks {
		if got, ok := cfg.Get(c.key); !ok || got != c.want {
			t.Errorf("%s = %q (known %v), want %q", c.key, got, ok, c.want)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		_, err := Load(t.TempDir(), nil)
		if !errors.Is(err, ErrNotInitialized) || !strings.Contains(err.Error(), "bftnode init") {
			t.Fatalf("err = %v", err)
		}
	})
	cases := []struct{ name, text, want string }{
		{"syntax", "moniker = \n", "config.toml"},
		{"unknown key", "[rpc]\nladdrr = \"x\"\n", "rpc.laddrr"},
		{"bad duration", "[consensus]\ntimeout_commit = \"soon\"\n", "timeout_commit"},
		{"wrong type", "[mempool]\nsize = \"big\"\n", "size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, c.text)
			_, err := Load(home, nil)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
	t.Run("bad env", func(t *testing.T) {
		home := t.TempDir()
		writeConfig(t, home, "")
		_, err := Load(home, envMap(map[string]string{"BFTNODE_MEMPOOL_SIZE": "lots"}))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "BFTNODE_MEMPOOL_SIZE") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestValidateNamesTheProblem(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"empty moniker", func(c *Config) { c.Moniker = " " }, "moniker"},
		{"proxy app", func(c *Config) { c.ProxyApp = "http://x" }, "proxy_app"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "want one of debug, info, warn, error"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "log_format"},
		{"rpc laddr", func(c *Config) { c.RPC.ListenAddress = "127.0.0.1:26657" }, "rpc.laddr"},
		{"unsafe without rpc", func(c *Config) { c.RPC.Unsafe, c.RPC.ListenAddress = true, "" }, "rpc.unsafe"},
		{"unsafe on the network", func(c *Config) { c.RPC.Unsafe, c.RPC.ListenAddress = true, "tcp://0.0.0.0:26657" }, "not a loopback"},
		{"unsafe on any host", func(c *Config) { c.RPC.Unsafe, c.RPC.ListenAddress = true, "tcp://:26657" }, "not a loopback"},
		{"pprof laddr", func(c *Config) { c.RPC.PprofListenAddress = "6060" }, "rpc.pprof_laddr"},
		{"signer laddr scheme", func(c *Config) { c.PrivValidatorListenAddr = "http://127.0.0.1:26659" }, "priv_validator_laddr"},
		{"signer laddr port", func(c *Config) { c.PrivValidatorListenAddr = "tcp://127.0.0.1" }, "want tcp://host:port"},
		{"signer laddr path", func(c *Config) { c.PrivValidatorListenAddr = "unix://" }, "priv_validator_laddr"},
		{"p2p laddr", func(c *Config) { c.P2P.ListenAddress = "/ip4/nope/tcp/1" }, "p2p.laddr"},
		{"peer without id", func(c *Config) { c.P2P.PersistentPeers = "/ip4/127.0.0.1/tcp/26656" }, "p2p.persistent_peers"},
		{"cometbft node id@host", func(c *Config) {
			c.P2P.PersistentPeers = "2939aaeefdb7e52ed7e3dae7e553778473d81a0c@127.0.0.1:26656"
		}, "show-node-id --libp2p"},
		{"cometbft node id in multiaddr", func(c *Config) {
			c.P2P.BootstrapPeers = "/ip4/127.0.0.1/tcp/26656/p2p/2939AAEEFDB7E52ED7E3DAE7E553778473D81A0C"
		}, "names node ID 2939AAEEFDB7E52ED7E3DAE7E553778473D81A0C"},
		{"mempool size", func(c *Config) { c.Mempool.Size = 0 }, "mempool.size"},
		{"mempool type", func(c *Config) { c.Mempool.Type = "priority" }, `mempool.type = "priority": unknown mempool type (use "flood" or "app")`},
		{"nop mempool", func(c *Config) { c.Mempool.Type = "nop" }, `mempool.type = "nop": is not supported by bftnode`},
		{"app mempool without reap interval", func(c *Config) { c.Mempool.Type, c.Mempool.ReapInterval = "app", 0 }, `mempool.reap_interval = "0s": must be positive when mempool type is "app"`},
		{"app mempool negative seen cache", func(c *Config) { c.Mempool.Type, c.Mempool.SeenCacheSize = "app", -1 }, "mempool.seen_cache_size"},
		{"app mempool retry delay", func(c *Config) { c.Mempool.Type, c.Mempool.CheckTxRetryDelay = "app", 0 }, "mempool.check_tx_retry_delay"},
		{"tx bigger than mempool", func(c *Config) { c.Mempool.MaxTxBytes, c.Mempool.MaxTxsBytes = 10, 5 }, "max_tx_bytes"},
		{"timeout", func(c *Config) { c.Consensus.TimeoutPropose = 0 }, "consensus.timeout_propose"},
		{"negative delta", func(c *Config) { c.Consensus.TimeoutPrevoteDelta = -1 }, "timeout_prevote_delta"},
		{"block time tolerance", func(c *Config) { c.Consensus.BlockTimeTolerance = 0 }, "consensus.block_time_tolerance"},
		{"negative retain_blocks", func(c *Config) { c.Storage.RetainBlocks = -1 }, "storage.retain_blocks"},
		{"discard_abci_responses", func(c *Config) { c.Storage.DiscardABCIResponses = true }, "storage.discard_abci_responses"},
		{"pruning interval", func(c *Config) { c.Storage.Pruning.Interval = 0 }, "storage.pruning.interval"},
		{"prometheus addr", func(c *Config) { c.Instrumentation.Prometheus, c.Instrumentation.PrometheusListenAddr = true, "26660" }, "prometheus_listen_addr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default(t.TempDir())
			c.edit(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}

func TestListenMultiaddr(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/ip4/0.0.0.0/tcp/26656", "/ip4/0.0.0.0/tcp/26656"},
		{"tcp://0.0.0.0:26656", "/ip4/0.0.0.0/tcp/26656"},
		{"tcp://[::1]:26656", "/ip6/::1/tcp/26656"},
		{"tcp://localhost:7", "/dns/localhost/tcp/7"},
		{"tcp://:26656", "/ip4/0.0.0.0/tcp/26656"},
	}
	for _, c := range cases {
		m, err := ListenMultiaddr(c.in)
		if err != nil || m.String() != c.want {
			t.Errorf("ListenMultiaddr(%q) = %v, %v; want %s", c.in, m, err, c.want)
		}
	}
	for _, in := range []string{"", "0.0.0.0:26656", "udp://1.2.3.4:5", "tcp://1.2.3.4:99999", "/ip4/1.2.3"} {
		if _, err := ListenMultiaddr(in); err == nil {
			t.Errorf("ListenMultiaddr(%q) accepted", in)
		}
	}
}

func TestSetUnknownKey(t *testing.T) {
	cfg := Default("")
	if err := cfg.Set("rpc.nope", "1"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if _, ok := cfg.Get("rpc.nope"); ok {
		t.Fatal("Get of an unknown key reported ok")
	}
	if !IsBoolKey("rpc.unsafe") || !IsBoolKey("consensus.create_empty_blocks") || IsBoolKey("moniker") {
		t.Fatal("IsBoolKey wrong")
	}
}

func TestUnsafeRPCIsOffByDefaultAndLoopbackOnly(t *testing.T) {
	home := t.TempDir()
	cfg := Default(home)
	if cfg.RPC.Unsafe {
		t.Fatal("rpc.unsafe is on by default")
	}
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(cfg.ConfigFile())
	if !strings.Contains(string(text), "\nunsafe = false\n") {
		t.Fatal("config.toml lacks unsafe = false")
	}
	for _, laddr := range []string{"tcp://127.0.0.1:26657", "tcp://[::1]:26657", "tcp://localhost:26657"} {
		cfg.RPC.Unsafe, cfg.RPC.ListenAddress = true, laddr
		if err := cfg.Validate(); err != nil {
			t.Errorf("unsafe on %s: %v", laddr, err)
		}
	}
	got, err := Load(home, envMap(map[string]string{"BFTNODE_RPC_UNSAFE": "true"}))
	if err != nil || !got.RPC.Unsafe {
		t.Fatalf("BFTNODE_RPC_UNSAFE=true: unsafe = %v, err %v", got.RPC.Unsafe, err)
	}
}

// TestPrivValidatorLaddr: off by default, in config.toml, and both of
// CometBFT's forms (tcp://host:port, unix:///path) are accepted, from the
// file and from the environment.
func TestPrivValidatorLaddr(t *testing.T) {
	home := t.TempDir()
	cfg := Default(home)
	if cfg.PrivValidatorListenAddr != "" {
		t.Fatalf("priv_validator_laddr = %q by default, want \"\" (sign with the key file)", cfg.PrivValidatorListenAddr)
	}
	cfg.PrivValidatorListenAddr = "tcp://127.0.0.1:26659"
	if err := cfg.WriteFile(); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(cfg.ConfigFile())
	if !strings.Contains(string(text), "\npriv_validator_laddr = \"tcp://127.0.0.1:26659\"\n") {
		t.Fatal("config.toml lacks the priv_validator_laddr written")
	}
	got, err := Load(home, envMap(map[string]string{"BFTNODE_PRIV_VALIDATOR_LADDR": "unix:///run/signer.sock"}))
	if err != nil || got.PrivValidatorListenAddr != "unix:///run/signer.sock" {
		t.Fatalf("BFTNODE_PRIV_VALIDATOR_LADDR: got %q, err %v", got.PrivValidatorListenAddr, err)
	}
	for _, laddr := range []string{"tcp://127.0.0.1:26659", "tcp://0.0.0.0:26659", "unix:///run/signer.sock"} {
		cfg.PrivValidatorListenAddr = laddr
		if err := cfg.Validate(); err != nil {
			t.Errorf("priv_validator_laddr = %q: %v", laddr, err)
		}
	}
}

// TestSetMempoolKeys: the app-side mempool's keys are settable by name (as
// flags and environment variables are), the unsigned reap limits included.
func TestSetMempoolKeys(t *testing.T) {
	cfg := Default("")
	for key, value := range map[string]string{"mempool.type": "app", "mempool.reap_interval": "100ms", "mempool.reap_max_bytes": "4096", "mempool.reap_max_gas": "77"} {
		if err := cfg.Set(key, value); err != nil {
			t.Fatalf("Set(%s, %s): %v", key, value, err)
		}
	}
	if m := cfg.Mempool; m.Type != MempoolTypeApp || m.ReapInterval != 100*time.Millisecond || m.ReapMaxBytes != 4096 || m.ReapMaxGas != 77 {
		t.Fatalf("mempool after Set: %+v", m)
	}
	if err := cfg.Set("mempool.reap_max_gas", "-1"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "non-negative integer") {
		t.Fatalf("Set(reap_max_gas, -1) err = %v, want ErrInvalid asking for a non-negative integer", err)
	}
}
