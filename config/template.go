package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// Render returns c as a commented config.toml.
func (c *Config) Render() ([]byte, error) {
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, c); err != nil {
		return nil, fmt.Errorf("config: rendering config.toml: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes c as a commented config.toml to its place in the home
// directory, creating the directory.
func (c *Config) WriteFile() error {
	data, err := c.Render()
	if err != nil {
		return err
	}
	return writeFileAtomic(c.ConfigFile(), data, 0o644)
}

// writeFileAtomic writes data to a temporary file in the same directory,
// syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // gone after a successful rename
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return fmt.Errorf("config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("config: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("config: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// tomlQuote writes s as a TOML basic string.
func tomlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var configTemplate = template.Must(template.New("config.toml").Funcs(template.FuncMap{
	"q":   tomlQuote,
	"dur": func(d time.Duration) string { return tomlQuote(d.String()) },
}).Parse(`# bftnode configuration. Keys follow CometBFT's config.toml where the meaning
# is the same. Every key can be overridden by an environment variable named
# BFTNODE_ + the key in upper case with dots as underscores (for example
# BFTNODE_RPC_LADDR for [rpc] laddr), and by a flag (--rpc.laddr); flags win
# over the environment, which wins over this file.
# Durations are written as Go durations: "500ms", "1s", "1m30s".

# A human-readable name for this node.
moniker = {{q .Moniker}}

# The application: "kvstore" (built in), or the address of an ABCI socket
# server: tcp://127.0.0.1:26658 or unix:///path/to/app.sock
proxy_app = {{q .ProxyApp}}

# Logging: log_level is one of debug, info, warn, error; log_format is text or json.
log_level = {{q .LogLevel}}
log_format = {{q .LogFormat}}

# Files and directories, relative to the home directory unless absolute.
genesis_file = {{q .Genesis}}
priv_validator_key_file = {{q .PrivValidatorKey}}
# The last-sign state that keeps this validator from double-signing. Never
# delete it or copy it between machines.
priv_validator_state_file = {{q .PrivValidatorState}}
# Where to listen for an external signer that holds the validator key instead
# of priv_validator_key_file: unix:///path/to/signer.sock. The signer (CometBFT's
# SignerServer, tmkms, horcrux) dials in and speaks CometBFT's privval
# protocol; the node keeps guarding against double-signing with
# priv_validator_state_file. "" signs with priv_validator_key_file.
priv_validator_laddr = {{q .PrivValidatorListenAddr}}
node_key_file = {{q .NodeKey}}
# The block store, consensus WAL and application database live here.
db_dir = {{q .DBPath}}
# Soft limit in MiB on the memory the Go runtime holds (heap, stacks): nearing
# it the garbage collector runs more often, instead of letting the heap grow to
# twice what is live. A node whose live heap needs more still runs (it then
# spends more CPU collecting): raise it for large blocks or a large mempool.
# 0 sets no limit; the GOMEMLIMIT environment variable, when set, wins.
# The databases' block cache (storage.block_cache_mb) is outside it.
memory_limit_mb = {{.MemoryLimitMB}}

[rpc]
# The JSON-RPC server (CometBFT-compatible): tcp://host:port, or "" to disable.
laddr = {{q .RPC.ListenAddress}}
# The largest request body accepted, in bytes.
max_body_bytes = {{.RPC.MaxBodyBytes}}
# The most simultaneous connections (0: no limit).
max_open_connections = {{.RPC.MaxOpenConnections}}
# The most websocket subscriptions one client may hold.
max_subscriptions_per_client = {{.RPC.MaxSubscriptionsPerClient}}
# Serve the operator-only routes (unsafe_disconnect, which cuts the node off
# from its peers for a while, for fault tests). Anyone who reaches the RPC
# may call them: allowed only with a loopback laddr. Keep false in production.
unsafe = {{.RPC.Unsafe}}
# Serve the web view of consensus at http://<laddr>/ui/: votes, rounds,
# locks and timeouts as they happen. It reads the public RPC only.
ui = {{.RPC.UI}}
# Serve Go's runtime profiles (/debug/pprof/, for ` + "`go tool pprof`" + `) on host:port,
# e.g. "127.0.0.1:6060"; "" serves none. Anyone who reaches it can read them.
pprof_laddr = {{q .RPC.PprofListenAddress}}

[p2p]
# The libp2p listen address: a multiaddr (/ip4/0.0.0.0/tcp/26656) or
# tcp://0.0.0.0:26656.
laddr = {{q .P2P.ListenAddress}}
# Comma-separated peers to stay connected to, as multiaddrs ending in the peer
# ID: /ip4/10.0.0.2/tcp/26656/p2p/12D3KooW... (` + "`bftnode show-node-id --libp2p`" + ` prints it).
persistent_peers = {{q .P2P.PersistentPeers}}
# Comma-separated peers dialled at start to discover others (same format).
bootstrap_peers = {{q .P2P.BootstrapPeers}}
# The most connected peers.
max_num_peers = {{.P2P.MaxNumPeers}}

[mempool]
# "flood": the node keeps the mempool, checks txs with CheckTx and gossips
# them. "app": the application keeps it (CometBFT v0.40.0's app-side
# mempool): RPC txs go to its CheckTx, peers' txs to its InsertTx, the node
# gossips what ReapTxs returns every reap_interval, and the proposer passes
# no txs to PrepareProposal. size, max_txs_bytes, cache_size and
# max_tx_wait are for "flood" only, the keys after max_tx_wait for "app"
# only; max_tx_bytes is for both.
type = {{q .Mempool.Type}}
# The most transactions held.
size = {{.Mempool.Size}}
# The most bytes of transactions held.
max_txs_bytes = {{.Mempool.MaxTxsBytes}}
# The largest transaction accepted, in bytes.
max_tx_bytes = {{.Mempool.MaxTxBytes}}
# How many recently seen transactions are remembered (at least; up to twice
# as many) to drop duplicates.
cache_size = {{.Mempool.CacheSize}}
# bftnode only (CometBFT has no such key): admission control by latency.
# Once transactions of a block waited in the mempool longer than this (or
# than twice the shortest time between recent blocks, if longer), new ones
# are refused with "mempool is full" while the mempool holds as many as
# blocks commit in this time (until a block's transactions waited half as
# long), so that a flood is refused at once instead of queueing for
# seconds, and blocks stay small and frequent. "0s" turns it off.
max_tx_wait = {{dur .Mempool.MaxTxWait}}
# How many recently seen tx hashes are remembered so a tx is not handed to
# the application twice.
seen_cache_size = {{.Mempool.SeenCacheSize}}
# Limits passed to ReapTxs (0: none).
reap_max_bytes = {{.Mempool.ReapMaxBytes}}
reap_max_gas = {{.Mempool.ReapMaxGas}}
# How often the node asks the application for txs to gossip.
reap_interval = {{dur .Mempool.ReapInterval}}
# How long an RPC tx the application refused stays refused as already seen
# (a tenth of it for a retryable code, 32000 or more).
check_tx_retry_delay = {{dur .Mempool.CheckTxRetryDelay}}

[consensus]
# How long to wait for a proposal in round 0; each later round adds the delta.
timeout_propose = {{dur .Consensus.TimeoutPropose}}
timeout_propose_delta = {{dur .Consensus.TimeoutProposeDelta}}
# How long to wait after seeing +2/3 prevotes (precommits) for anything
# before moving on; each later round adds the delta.
timeout_prevote = {{dur .Consensus.TimeoutPrevote}}
timeout_prevote_delta = {{dur .Consensus.TimeoutPrevoteDelta}}
timeout_precommit = {{dur .Consensus.TimeoutPrecommit}}
timeout_precommit_delta = {{dur .Consensus.TimeoutPrecommitDelta}}
# The pause after committing a block before starting the next height, to
# gather late precommits. With skip_timeout_commit the next height starts as
# soon as all precommits are in.
timeout_commit = {{dur .Consensus.TimeoutCommit}}
skip_timeout_commit = {{.Consensus.SkipTimeoutCommit}}
# Whether to make blocks without transactions; with an interval above 0s, an
# empty block is made only after that long without transactions.
create_empty_blocks = {{.Consensus.CreateEmptyBlocks}}
create_empty_blocks_interval = {{dur .Consensus.CreateEmptyBlocksInterval}}
# The consensus WAL starts a new segment once its current one has grown past
# this many bytes, at the end of a height, and deletes every segment but the
# one before: recovery needs only the current height. Raise it to keep more
# history (for inspection with bftnode's WAL tools).
wal_max_file_size = {{.Consensus.WALMaxFileSize}}
# Blocks are dated by BFT time: the weighted median of the timestamps in the
# previous block's commit. A block dated this far or more ahead of this
# node's clock is refused all the same (prevoted nil, not synced): keep the
# clock synchronised (NTP).
block_time_tolerance = {{dur .Consensus.BlockTimeTolerance}}

[storage]
# Keep only the last retain_blocks blocks, with their commits, results and
# tx index entries; 0 keeps every block the application does not release
# (the retain_height it returns from Commit). Whichever of the two keeps
# more wins; blocks whose evidence could still be submitted (consensus
# params evidence.max_age_*) and the last two are always kept.
retain_blocks = {{.Storage.RetainBlocks}}
# CometBFT's setting; bftnode keeps the responses (events, /block_results,
# crash recovery read them), so it must stay false.
discard_abci_responses = {{.Storage.DiscardABCIResponses}}
# MiB of block cache shared by the node's databases (block store, tx index,
# evidence, built-in kvstore): recently read data blocks of the tables on disk.
block_cache_mb = {{.Storage.BlockCacheMB}}

[storage.pruning]
# How often the background pruner deletes what the retain height releases.
interval = {{dur .Storage.Pruning.Interval}}

[statesync]
# State sync: a new node (with no blocks yet) restores the application from
# a snapshot that peers serve, instead of replaying every block. The
# snapshot's height and app hash are checked against headers verified by a
# light client, which reads them from rpc_servers (two or more, comma
# separated: a primary and witnesses), starting from a header you trust:
# trust_height and trust_hash (hex), obtained from a source you trust. After
# the restore the node block-syncs to the tip, then joins consensus.
enable = {{.StateSync.Enable}}
rpc_servers = {{q .StateSync.RPCServers}}
trust_height = {{.StateSync.TrustHeight}}
trust_hash = {{q .StateSync.TrustHash}}
trust_period = {{dur .StateSync.TrustPeriod}}
# How long to gather snapshots from peers before choosing one.
discovery_time = {{dur .StateSync.DiscoveryTime}}
# How long to wait for a chunk before asking another peer for it.
chunk_request_timeout = {{dur .StateSync.ChunkRequestTimeout}}
# How many chunks to fetch at once, from different peers.
chunk_fetchers = {{.StateSync.ChunkFetchers}}
# Snapshots of more chunks are refused.
max_snapshot_chunks = {{.StateSync.MaxSnapshotChunks}}
# bftnode's own: with no usable snapshot after discovery_time, block-sync
# from genesis instead of stopping with an error.
blocksync_fallback = {{.StateSync.BlockSyncFallback}}

[instrumentation]
# Serve Prometheus metrics at prometheus_listen_addr (host:port).
prometheus = {{.Instrumentation.Prometheus}}
prometheus_listen_addr = {{q .Instrumentation.PrometheusListenAddr}}
`))
