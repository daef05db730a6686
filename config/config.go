package config

import (
	"errors"
	"path/filepath"
	"time"
)

// ErrInvalid is wrapped by every validation error of a config or genesis file.
var ErrInvalid = errors.New("invalid configuration")

// Names inside the home directory.
const (
	DefaultHomeName = ".bftnode"
	ConfigDirName   = "config"
	DataDirName     = "data"
	ConfigFileName  = "config.toml"
	EnvPrefix       = "BFTNODE"
)

// Config is the node's configuration: config.toml plus the home directory it
// was loaded from (RootDir, which is not in the file).
type Config struct {
	// RootDir is the home directory; relative paths in the file are relative to it.
	RootDir string `toml:"-"`

	Moniker   string `toml:"moniker"`
	ProxyApp  string `toml:"proxy_app"`
	LogLevel  string `toml:"log_level"`
	LogFormat string `toml:"log_format"`

	Genesis            string `toml:"genesis_file"`
	PrivValidatorKey   string `toml:"priv_validator_key_file"`
	PrivValidatorState string `toml:"priv_validator_state_file"`
	// PrivValidatorListenAddr, when set, is where the node listens for an
	// external signer (CometBFT's privval protocol); the key file is then
	// not used.
	PrivValidatorListenAddr string `toml:"priv_validator_laddr"`
	NodeKey                 string `toml:"node_key_file"`
	DBPath                  string `toml:"db_dir"`
	// MemoryLimitMB is the Go runtime's soft memory limit in MiB
	// (runtime/debug.SetMemoryLimit), set by `bftnode start`: nearing it,
	// the garbage collector runs more often rather than let the heap grow
	// to twice what is live. 0 sets none; the GOMEMLIMIT environment
	// variable, when set, wins. bftnode's own; CometBFT has no such setting.
	MemoryLimitMB int64 `toml:"memory_limit_mb"`

	RPC             RPCConfig             `toml:"rpc"`
	P2P             P2PConfig             `toml:"p2p"`
	Mempool         MempoolConfig         `toml:"mempool"`
	Consensus       ConsensusConfig       `toml:"consensus"`
	Storage         StorageConfig         `toml:"storage"`
	StateSync       StateSyncConfig       `toml:"statesync"`
	Instrumentation InstrumentationConfig `toml:"instrumentation"`
}

// RPCConfig is the [rpc] section: the JSON-RPC server.
type RPCConfig struct {
	ListenAddress             string `toml:"laddr"`
	MaxBodyBytes              int64  `toml:"max_body_bytes"`
	MaxOpenConnections        int    `toml:"max_open_connections"`
	MaxSubscriptionsPerClient int    `toml:"max_subscriptions_per_client"`
	// Unsafe serves the operator-only routes (unsafe_disconnect), which
	// let any client of the RPC cut the node off from its peers. Off by
	// default; only with a loopback laddr.
	Unsafe bool `toml:"unsafe"`
	// UI serves the web view of consensus (package ui) under /ui/ of the
	// RPC address. Off by default. bftnode's own; CometBFT has none.
	UI bool `toml:"ui"`
	// PprofListenAddress serves Go's runtime profiles (/debug/pprof/) on
	// host:port when set; "" (the default) serves none.
	PprofListenAddress string `toml:"pprof_laddr"`
}

// P2PConfig is the [p2p] section. Addresses are libp2p multiaddrs; a listen
// address may also be written tcp://host:port.
type P2PConfig struct {
	ListenAddress string `toml:"laddr"`
	// PersistentPeers is a comma-separated list of multiaddrs ending in
	// /p2p/<peer ID>, kept connected and redialled.
	PersistentPeers string `toml:"persistent_peers"`
	// BootstrapPeers is a comma-separated list of multiaddrs dialled at start
	// to discover others.
	BootstrapPeers string `toml:"bootstrap_peers"`
	MaxNumPeers    int    `toml:"max_num_peers"`
}

// MempoolConfig is the [mempool] section.
type MempoolConfig struct {
	// Type is MempoolTypeFlood (the node's own mempool) or MempoolTypeApp
	// (the application keeps the mempool; the node only relays).
	Type        string `toml:"type"`
	Size        int    `toml:"size"`
	MaxTxsBytes int64  `toml:"max_txs_bytes"`
	MaxTxBytes  int    `toml:"max_tx_bytes"`
	CacheSize   int    `toml:"cache_size"`
	// MaxTxWait is bftnode's own (CometBFT has no such key): see
	// mempool.Config.MaxWait. Type "flood" only.
	MaxTxWait time.Duration `toml:"max_tx_wait"`
	// The rest apply to type "app" only, as in CometBFT v0.40.0.
	SeenCacheSize     int           `toml:"seen_cache_size"`
	ReapMaxBytes      uint64        `toml:"reap_max_bytes"`
	ReapMaxGas        uint64        `toml:"reap_max_gas"`
	ReapInterval      time.Duration `toml:"reap_interval"`
	CheckTxRetryDelay time.Duration `toml:"check_tx_retry_delay"`
}

// The values of [mempool] type.
const (
	MempoolTypeFlood = "flood"
	MempoolTypeApp   = "app"
)

// ConsensusConfig is the [consensus] section: the timeouts of the algorithm
// and when to make blocks.
type ConsensusConfig struct {
	TimeoutPropose            time.Duration `toml:"timeout_propose"`
	TimeoutProposeDelta       time.Duration `toml:"timeout_propose_delta"`
	TimeoutPrevote            time.Duration `toml:"timeout_prevote"`
	TimeoutPrevoteDelta       time.Duration `toml:"timeout_prevote_delta"`
	TimeoutPrecommit          time.Duration `toml:"timeout_precommit"`
	TimeoutPrecommitDelta     time.Duration `toml:"timeout_precommit_delta"`
	TimeoutCommit             time.Duration `toml:"timeout_commit"`
	SkipTimeoutCommit         bool          `toml:"skip_timeout_commit"`
	CreateEmptyBlocks         bool          `toml:"create_empty_blocks"`
	CreateEmptyBlocksInterval time.Duration `toml:"create_empty_blocks_interval"`
	// WALMaxFileSize is the size in bytes past which the consensus WAL
	// starts a new segment, deleting all but the previous one.
	WALMaxFileSize int64 `toml:"wal_max_file_size"`
	// BlockTimeTolerance: a block dated this far or more ahead of this
	// node's clock is invalid (CometBFT v0.40.0's check, on top of BFT time).
	BlockTimeTolerance time.Duration `toml:"block_time_tolerance"`
}

// StorageConfig is the [storage] section: how much history the node keeps.
type StorageConfig struct {
	// RetainBlocks, when positive, keeps only the last RetainBlocks blocks
	// (with their commits, results and index entries); 0 keeps every block
	// the application does not release with Commit's retain_height. The
	// name is CometBFT's e2e manifest's; CometBFT v0.40.0's node has no
	// such setting (only the application's retain_height).
	RetainBlocks int64 `toml:"retain_blocks"`
	// DiscardABCIResponses is CometBFT's discard_abci_responses, accepted
	// so that its config files load; bftnode needs the responses (events,
	// /block_results, recovery), so only false is valid.
	DiscardABCIResponses bool `toml:"discard_abci_responses"`
	// BlockCacheMB is the size in MiB of the one block cache that the
	// node's Pebble databases (block store, tx index, evidence, built-in
	// kvstore) share. bftnode's own; CometBFT has no such setting.
	BlockCacheMB int64 `toml:"block_cache_mb"`
	// Pruning is [storage.pruning], named as in CometBFT v1.
	Pruning PruningConfig `toml:"pruning"`
}

// PruningConfig is the [storage.pruning] section.
type PruningConfig struct {
	// Interval is how often the background pruner deletes what the retain
	// height releases.
	Interval time.Duration `toml:"interval"`
}

// StateSyncConfig is the [statesync] section, with CometBFT's keys: a new
// node restores the application from a peer's snapshot, verified with a
// light client, instead of replaying every block from genesis.
type StateSyncConfig struct {
	Enable bool `toml:"enable"`
	// RPCServers is a comma-separated list of at least two RPC addresses
	// (http://host:port) the light client reads headers from: the first
	// is its primary, the others witnesses.
	RPCServers  string        `toml:"rpc_servers"`
	TrustHeight int64         `toml:"trust_height"`
	TrustHash   string        `toml:"trust_hash"`
	TrustPeriod time.Duration `toml:"trust_period"`
	// DiscoveryTime is how long to gather snapshots from peers before
	// choosing one (and how long to wait again when none is usable).
	DiscoveryTime       time.Duration `toml:"discovery_time"`
	ChunkRequestTimeout time.Duration `toml:"chunk_request_timeout"`
	ChunkFetchers       int           `toml:"chunk_fetchers"`
	// MaxSnapshotChunks refuses snapshots of more chunks.
	MaxSnapshotChunks int64 `toml:"max_snapshot_chunks"`
	// BlockSyncFallback, bftnode's own: when no peer offers a usable
	// snapshot within discovery_time, block-sync from genesis instead of
	// stopping with an error. Off by default: replaying a long chain is
	// what the operator turned state sync on to avoid.
	BlockSyncFallback bool `toml:"blocksync_fallback"`
}

// InstrumentationConfig is the [instrumentation] section.
type InstrumentationConfig struct {
	Prometheus           bool   `toml:"prometheus"`
	PrometheusListenAddr string `toml:"prometheus_listen_addr"`
}

// DefaultMemoryLimitMB is memory_limit_mb's default: about twice the live
// heap of a node of 4 validators at full load with 250-byte txs, so that
// the heap does not double past it between collections; a node whose live
// heap outgrows it still runs, collecting more often.
const DefaultMemoryLimitMB = 64

// Default returns the defaults, rooted at home. They suit a LAN: a block
// about every second when idle.
func Default(home string) Config {
	return Config{
		RootDir:            home,
		Moniker:            "bftnode",
		ProxyApp:           "kvstore",
		LogLevel:           "info",
		LogFormat:          "text",
		Genesis:            filepath.Join(ConfigDirName, "genesis.json"),
		PrivValidatorKey:   filepath.Join(ConfigDirName, "priv_validator_key.json"),
		PrivValidatorState: filepath.Join(DataDirName, "priv_validator_state.json"),
		NodeKey:            filepath.Join(ConfigDirName, "node_key.json"),
		DBPath:             DataDirName,
		MemoryLimitMB:      DefaultMemoryLimitMB,
		RPC: RPCConfig{
			ListenAddress:             "tcp://127.0.0.1:26657",
			MaxBodyBytes:              1_000_000,
			MaxOpenConnections:        900,
			MaxSubscriptionsPerClient: 5,
		},
		P2P: P2PConfig{
			ListenAddress: "/ip4/0.0.0.0/tcp/26656",
			MaxNumPeers:   50,
		},
		Mempool: MempoolConfig{
			Size:        5000,
			MaxTxsBytes: 1 << 30,
			MaxTxBytes:  1 << 20,
			CacheSize:   10000,
			MaxTxWait:   300 * time.Millisecond,
			Type:        MempoolTypeFlood,
			// CometBFT v0.40.0's defaults.
			SeenCacheSize:     100_000,
			ReapInterval:      500 * time.Millisecond,
			CheckTxRetryDelay: 5 * time.Second,
		},
		Consensus: ConsensusConfig{
			TimeoutPropose:            3 * time.Second,
			TimeoutProposeDelta:       500 * time.Millisecond,
			TimeoutPrevote:            time.Second,
			TimeoutPrevoteDelta:       500 * time.Millisecond,
			TimeoutPrecommit:          time.Second,
			TimeoutPrecommitDelta:     500 * time.Millisecond,
			TimeoutCommit:             time.Second,
			CreateEmptyBlocks:         true,
			WALMaxFileSize:            1 << 20,
			BlockTimeTolerance:        60 * time.Second,
			CreateEmptyBlocksInterval: 0,
		},
		Storage: StorageConfig{
			BlockCacheMB: 16,
			Pruning:      PruningConfig{Interval: 10 * time.Second},
		},
		StateSync: StateSyncConfig{
			TrustPeriod:         168 * time.Hour,
			DiscoveryTime:       15 * time.Second,
			ChunkRequestTimeout: 10 * time.Second,
			ChunkFetchers:       4,
			MaxSnapshotChunks:   100000,
		},
		Instrumentation: InstrumentationConfig{
			PrometheusListenAddr: ":26660",
		},
	}
}

// path resolves p against the home directory unless it is absolute.
func (c *Config) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.RootDir, p)
}

// ConfigFile is the path of config.toml.
func (c *Config) ConfigFile() string { return ConfigFilePath(c.RootDir) }

// ConfigFilePath is the path of config.toml in home.
func ConfigFilePath(home string) string { return filepath.Join(home, ConfigDirName, ConfigFileName) }

// GenesisFile is the path of genesis.json.
func (c *Config) GenesisFile() string { return c.path(c.Genesis) }

// PrivValidatorKeyFile is the path of priv_validator_key.json.
func (c *Config) PrivValidatorKeyFile() string { return c.path(c.PrivValidatorKey) }

// PrivValidatorStateFile is the path of priv_validator_state.json, the
// last-sign state that keeps the validator from double-signing.
func (c *Config) PrivValidatorStateFile() string { return c.path(c.PrivValidatorState) }

// NodeKeyFile is the path of node_key.json.
func (c *Config) NodeKeyFile() string { return c.path(c.NodeKey) }

// DataDir is the data directory.
func (c *Config) DataDir() string { return c.path(c.DBPath) }

// BlockstoreDir is the Pebble block store's directory.
func (c *Config) BlockstoreDir() string { return filepath.Join(c.DataDir(), "blockstore.db") }

// WALDir is the consensus WAL's directory.
func (c *Config) WALDir() string { return filepath.Join(c.DataDir(), "cs.wal") }

// TxIndexDir is the directory of the tx and block event index, which the
// node can rebuild from the block store.
func (c *Config) TxIndexDir() string { return filepath.Join(c.DataDir(), "tx_index.db") }

// AppDBDir is the directory of the built-in application's database.
func (c *Config) AppDBDir() string { return filepath.Join(c.DataDir(), "app.db") }
