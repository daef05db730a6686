package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/bftnode/bftnode/privval"
)

// Log levels and formats.
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// Validate checks every field and returns all problems at once, each naming
// the key, its value and what to write instead. The error wraps ErrInvalid.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, val any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s = %v: %s", key, quote(val), fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Moniker) == "" {
		bad("moniker", c.Moniker, "must not be empty; name this node, e.g. moniker = \"node0\"")
	}
	if err := checkProxyApp(c.ProxyApp); err != nil {
		bad("proxy_app", c.ProxyApp, "%v", err)
	}
	if !slices.Contains(LogLevels, c.LogLevel) {
		bad("log_level", c.LogLevel, "want one of %s", strings.Join(LogLevels, ", "))
	}
	if !slices.Contains(LogFormats, c.LogFormat) {
		bad("log_format", c.LogFormat, "want one of %s", strings.Join(LogFormats, ", "))
	}
	for key, val := range map[string]string{
		"genesis_file": c.Genesis, "priv_validator_key_file": c.PrivValidatorKey,
		"priv_validator_state_file": c.PrivValidatorState, "node_key_file": c.NodeKey, "db_dir": c.DBPath,
	} {
		if val == "" {
			bad(key, val, "must not be empty (a path, relative to the home directory or absolute)")
		}
	}

	if c.PrivValidatorListenAddr != "" {
		if _, _, err := privval.SplitListenAddr(c.PrivValidatorListenAddr); err != nil {
			bad("priv_validator_laddr", c.PrivValidatorListenAddr, "%v (or \"\" to sign with priv_validator_key_file)", err)
		}
	}
	if c.RPC.ListenAddress != "" {
		if _, err := RPCListenHostPort(c.RPC.ListenAddress); err != nil {
			bad("rpc.laddr", c.RPC.ListenAddress, "%v (or \"\" to disable the RPC server)", err)
		}
	}
	if c.RPC.Unsafe {
		if err := checkUnsafeRPC(c.RPC.ListenAddress); err != nil {
			bad("rpc.unsafe", c.RPC.Unsafe, "%v", err)
		}
	}
	if c.RPC.PprofListenAddress != "" {
		if _, _, err := net.SplitHostPort(c.RPC.PprofListenAddress); err != nil {
			bad("rpc.pprof_laddr", c.RPC.PprofListenAddress, "%v (write host:port, e.g. 127.0.0.1:6060, or \"\" to serve no profiles)", err)
		}
	}
	positive("rpc.max_body_bytes", c.RPC.MaxBodyBytes, bad)
	nonNegative("rpc.max_open_connections", int64(c.RPC.MaxOpenConnections), bad)
	nonNegative("rpc.max_subscriptions_per_client", int64(c.RPC.MaxSubscriptionsPerClient), bad)

	if _, err := ListenMultiaddr(c.P2P.ListenAddress); err != nil {
		bad("p2p.laddr", c.P2P.ListenAddress, "%v", err)
	}
	if _, err := ParsePeers(c.P2P.PersistentPeers); err != nil {
		bad("p2p.persistent_peers", c.P2P.PersistentPeers, "%v", err)
	}
	if _, err := ParsePeers(c.P2P.BootstrapPeers); err != nil {
		bad("p2p.bootstrap_peers", c.P2P.BootstrapPeers, "%v", err)
	}
	positive("p2p.max_num_peers", int64(c.P2P.MaxNumPeers), bad)

	switch c.Mempool.Type {
	case MempoolTypeFlood, MempoolTypeApp, "": // "" is flood, as in CometBFT
	case "nop":
		bad("mempool.type", c.Mempool.Type, "is not supported by bftnode (use %q, or %q to let the application keep the mempool)", MempoolTypeFlood, MempoolTypeApp)
	default:
		bad("mempool.type", c.Mempool.Type, "unknown mempool type (use %q or %q)", MempoolTypeFlood, MempoolTypeApp)
	}
	if c.Mempool.Type == MempoolTypeApp {
		nonNegative("mempool.seen_cache_size", int64(c.Mempool.SeenCacheSize), bad)
		if c.Mempool.ReapInterval <= 0 {
			bad("mempool.reap_interval", c.Mempool.ReapInterval, "must be positive when mempool type is \"app\", e.g. \"500ms\"")
		}
		if c.Mempool.CheckTxRetryDelay <= 0 {
			bad("mempool.check_tx_retry_delay", c.Mempool.CheckTxRetryDelay, "must be positive when mempool type is \"app\", e.g. \"5s\"")
		}
	}
	positive("mempool.size", int64(c.Mempool.Size), bad)
	positive("mempool.max_txs_bytes", c.Mempool.MaxTxsBytes, bad)
	positive("mempool.max_tx_bytes", int64(c.Mempool.MaxTxBytes), bad)
	nonNegative("mempool.cache_size", int64(c.Mempool.CacheSize), bad)
	if c.Mempool.MaxTxWait < 0 {
		bad("mempool.max_tx_wait", c.Mempool.MaxTxWait, "must not be negative, e.g. \"500ms\" or \"0s\" (off)")
	}
	if c.Mempool.MaxTxBytes > 0 && int64(c.Mempool.MaxTxBytes) > c.Mempool.MaxTxsBytes {
		bad("mempool.max_tx_bytes", c.Mempool.MaxTxBytes, "larger than mempool.max_txs_bytes (%d); one tx could never fit", c.Mempool.MaxTxsBytes)
	}

	cs := c.Consensus
	for key, d := range map[string]time.Duration{
		"consensus.timeout_propose": cs.TimeoutPropose, "consensus.timeout_prevote": cs.TimeoutPrevote,
		"consensus.timeout_precommit": cs.TimeoutPrecommit, "consensus.block_time_tolerance": cs.BlockTimeTolerance,
	} {
		if d <= 0 {
			bad(key, d, "must be positive, e.g. \"1s\"")
		}
	}
	for key, d := range map[string]time.Duration{
		"consensus.timeout_propose_delta": cs.TimeoutProposeDelta, "consensus.timeout_prevote_delta": cs.TimeoutPrevoteDelta,
		"consensus.timeout_precommit_delta": cs.TimeoutPrecommitDelta, "consensus.timeout_commit": cs.TimeoutCommit,
		"consensus.create_empty_blocks_interval": cs.CreateEmptyBlocksInterval,
	} {
		if d < 0 {
			bad(key, d, "must not be negative, e.g. \"500ms\" or \"0s\"")
		}
	}
	positive("consensus.wal_max_file_size", cs.WALMaxFileSize, bad)

	nonNegative("storage.retain_blocks", c.Storage.RetainBlocks, bad)
	nonNegative("storage.block_cache_mb", c.Storage.BlockCacheMB, bad)
	nonNegative("memory_limit_mb", c.MemoryLimitMB, bad)
	if c.Storage.Pruning.Interval <= 0 {
		bad("storage.pruning.interval", c.Storage.Pruning.Interval, "must be positive, e.g. \"10s\"")
	}
	if c.Storage.DiscardABCIResponses {
		bad("storage.discard_abci_responses", true, "is not supported: bftnode reads the stored responses for events, /block_results and crash recovery; set it to false (to save disk, set storage.retain_blocks)")
	}

	errs = append(errs, c.StateSync.validate()...)

	if c.Instrumentation.Prometheus {
		if _, _, err := net.SplitHostPort(c.Instrumentation.PrometheusListenAddr); err != nil {
			bad("instrumentation.prometheus_listen_addr", c.Instrumentation.PrometheusListenAddr, "want host:port such as \":26660\": %v", err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	// Map iteration above is unordered; sort for stable messages.
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	slices.Sort(msgs)
	return fmt.Errorf("%w (%s with the BFTNODE_* environment and flags applied):\n  %s", ErrInvalid, c.ConfigFile(), strings.Join(msgs, "\n  "))
}

func checkProxyApp(s string) error {
	switch {
	case s == "kvstore":
		return nil
	case strings.HasPrefix(s, "tcp://"):
		_, err := RPCListenHostPort(s)
		return err
	case strings.HasPrefix(s, "unix://") && len(s) > len("unix://"):
		return nil
	}
	return errors.New(`want "kvstore" (the built-in app), tcp://host:port or unix:///path/to/socket (an ABCI socket server)`)
}

// checkUnsafeRPC allows the unsafe routes only on a loopback RPC address,
// where no remote client can reach them.
func checkUnsafeRPC(laddr string) error {
	if laddr == "" {
		return errors.New("the RPC server is disabled (rpc.laddr = \"\"); set rpc.laddr to a loopback address or unsafe = false")
	}
	host, _, err := splitTCP(laddr)
	if err != nil {
		return nil // reported under rpc.laddr
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("rpc.laddr %q is not a loopback address: the unsafe routes would be open to the network; "+
			"listen on tcp://127.0.0.1:PORT or set unsafe = false", laddr)
	}
	return nil
}

func positive(key string, v int64, bad func(string, any, string, ...any)) {
	if v <= 0 {
		bad(key, v, "must be positive")
	}
}

func nonNegative(key string, v int64, bad func(string, any, string, ...any)) {
	if v < 0 {
		bad(key, v, "must not be negative")
	}
}

func quote(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case time.Duration:
		return fmt.Sprintf("%q", x.String())
	}
	return fmt.Sprint(v)
}
