package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func enabledStateSync() StateSyncConfig {
	s := Default("/h").StateSync
	s.Enable = true
	s.RPCServers = "http://a:26657, http://b:26657"
	s.TrustHeight = 10
	s.TrustHash = strings.Repeat("AB", 32)
	return s
}

// TestStateSyncValidate: an enabled [statesync] is checked with CometBFT's
// rules, each problem named with its key and what to write; a disabled
// one is not checked.
func TestStateSyncValidate(t *testing.T) {
	c := Default(t.TempDir())
	c.StateSync = enabledStateSync()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid [statesync] refused: %v", err)
	}
	if got := c.StateSync.RPCServerList(); len(got) != 2 || got[1] != "http://b:26657" {
		t.Errorf("rpc_servers split into %q", got)
	}
	if got := c.StateSync.TrustHashBytes(); len(got) != 32 || got[0] != 0xAB {
		t.Errorf("trust_hash decoded to %X", got)
	}
	for _, tc := range []struct {
		name string
		edit func(*StateSyncConfig)
		want string
	}{
		{"one rpc server", func(s *StateSyncConfig) { s.RPCServers = "http://a:26657" }, "statesync.rpc_servers"},
		{"no trust height", func(s *StateSyncConfig) { s.TrustHeight = 0 }, "statesync.trust_height"},
		{"hash not hex", func(s *StateSyncConfig) { s.TrustHash = "xyz" }, "statesync.trust_hash"},
		{"short hash", func(s *StateSyncConfig) { s.TrustHash = "ABCD" }, "32-byte hash"},
		{"trust period", func(s *StateSyncConfig) { s.TrustPeriod = 0 }, "statesync.trust_period"},
		{"discovery time", func(s *StateSyncConfig) { s.DiscoveryTime = time.Second }, "statesync.discovery_time"},
		{"chunk timeout", func(s *StateSyncConfig) { s.ChunkRequestTimeout = time.Second }, "statesync.chunk_request_timeout"},
		{"fetchers", func(s *StateSyncConfig) { s.ChunkFetchers = 0 }, "statesync.chunk_fetchers"},
		{"max chunks", func(s *StateSyncConfig) { s.MaxSnapshotChunks = 0 }, "statesync.max_snapshot_chunks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default(t.TempDir())
			c.StateSync = enabledStateSync()
			tc.edit(&c.StateSync)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
			c.StateSync.Enable = false
			if err := c.Validate(); err != nil {
				t.Errorf("disabled [statesync] checked: %v", err)
			}
		})
	}
}
