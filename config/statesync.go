package config

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Lower bounds CometBFT v0.40.0 puts on [statesync] durations.
const (
	minDiscoveryTime       = 5 * time.Second
	minChunkRequestTimeout = 5 * time.Second
)

// RPCServerList is rpc_servers split at commas.
func (s StateSyncConfig) RPCServerList() []string { return SplitList(s.RPCServers) }

// TrustHashBytes is trust_hash decoded (Validate checked it).
func (s StateSyncConfig) TrustHashBytes() []byte {
	b, _ := hex.DecodeString(s.TrustHash)
	return b
}

// validate checks [statesync] as CometBFT does, when enabled.
func (s StateSyncConfig) validate() []error {
	if !s.Enable {
		return nil
	}
	var errs []error
	bad := func(key string, val any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("statesync.%s = %v: %s", key, quote(val), fmt.Sprintf(format, args...)))
	}
	if n := len(s.RPCServerList()); n < 2 {
		bad("rpc_servers", s.RPCServers, "state sync needs at least two RPC servers (comma-separated, e.g. \"http://a:26657,http://b:26657\"): "+
			"the light client checks the first against the others; got %d", n)
	}
	if s.TrustHeight <= 0 {
		bad("trust_height", s.TrustHeight, "must be positive: the height of a header you trust, from a source you trust (a block explorer, an operator)")
	}
	if b, err := hex.DecodeString(s.TrustHash); err != nil || len(b) != 32 {
		bad("trust_hash", s.TrustHash, "must be the 32-byte hash, in hex, of the header at trust_height")
	}
	if s.TrustPeriod <= 0 {
		bad("trust_period", s.TrustPeriod, "must be positive, e.g. \"168h\" (about 2/3 of the unbonding period)")
	}
	if s.DiscoveryTime < minDiscoveryTime {
		bad("discovery_time", s.DiscoveryTime, "must be at least %s (CometBFT's minimum)", minDiscoveryTime)
	}
	if s.ChunkRequestTimeout < minChunkRequestTimeout {
		bad("chunk_request_timeout", s.ChunkRequestTimeout, "must be at least %s (CometBFT's minimum)", minChunkRequestTimeout)
	}
	if s.ChunkFetchers <= 0 {
		bad("chunk_fetchers", s.ChunkFetchers, "must be positive, e.g. 4")
	}
	if s.MaxSnapshotChunks <= 0 || s.MaxSnapshotChunks > 1<<32-1 {
		bad("max_snapshot_chunks", s.MaxSnapshotChunks, "must be between 1 and 4294967295, e.g. 100000")
	}
	return errs
}
