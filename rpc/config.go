package rpc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// ErrBadConfig is wrapped by configuration errors.
var ErrBadConfig = errors.New("bad rpc config")

// DefaultListenAddress is where the RPC server listens by default.
const DefaultListenAddress = "tcp://127.0.0.1:26657"

// Config sets the server's address and limits.
type Config struct {
	// ListenAddress is "tcp://host:port" or "unix:///path".
	ListenAddress string
	// MaxBodyBytes bounds a request body (and a websocket message).
	MaxBodyBytes int64
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
	// MaxBatchSize bounds the requests in one JSON-RPC batch.
	MaxBatchSize int
	// MaxOpenConnections bounds simultaneous connections (0: no limit).
	MaxOpenConnections int
	// MaxSubscriptionClients bounds websocket connections with at least
	// one subscription.
	MaxSubscriptionClients int
	// MaxSubscriptionsPerClient bounds one websocket's subscriptions.
	MaxSubscriptionsPerClient int
	// MaxQueryLength bounds an event query.
	MaxQueryLength int
	// TimeoutBroadcastTxCommit bounds broadcast_tx_commit's wait.
	TimeoutBroadcastTxCommit time.Duration
	// WriteTimeout bounds writing one response (HTTP) or message (websocket).
	WriteTimeout time.Duration
	// ReadHeaderTimeout bounds reading request headers, ReadTimeout the
	// whole request.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WebsocketPingPeriod is how often the server pings websocket clients;
	// a client silent for twice this long is dropped.
	WebsocketPingPeriod time.Duration
	// MaxAsyncBroadcasts bounds broadcast_tx_async submissions in flight.
	MaxAsyncBroadcasts int
	// CORSAllowedOrigins lists the origins browsers may call from ("*" for
	// any); empty turns CORS off.
	CORSAllowedOrigins []string
	// UI, when set, is served under /ui/ (the web view of package ui).
	UI http.Handler
	// Unsafe serves the operator-only routes (unsafe_disconnect); the
	// backend must then implement UnsafeBackend. Off by default.
	Unsafe bool
}

// DefaultConfig returns CometBFT's defaults where it has them.
func DefaultConfig() Config {
	return Config{
		ListenAddress:             DefaultListenAddress,
		MaxBodyBytes:              1_000_000,
		MaxHeaderBytes:            1 << 20,
		MaxBatchSize:              10,
		MaxOpenConnections:        900,
		MaxSubscriptionClients:    100,
		MaxSubscriptionsPerClient: 5,
		MaxQueryLength:            512,
		TimeoutBroadcastTxCommit:  10 * time.Second,
		WriteTimeout:              15 * time.Second,
		ReadHeaderTimeout:         10 * time.Second,
		ReadTimeout:               10 * time.Second,
		WebsocketPingPeriod:       27 * time.Second,
		MaxAsyncBroadcasts:        256,
	}
}

// Validate checks that limits are positive.
func (c *Config) Validate() error {
	switch {
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("%w: MaxBodyBytes must be positive", ErrBadConfig)
	case c.MaxBatchSize <= 0:
		return fmt.Errorf("%w: MaxBatchSize must be positive", ErrBadConfig)
	case c.MaxOpenConnections < 0:
		return fmt.Errorf("%w: MaxOpenConnections must not be negative", ErrBadConfig)
	case c.MaxSubscriptionClients <= 0 || c.MaxSubscriptionsPerClient <= 0:
		return fmt.Errorf("%w: subscription limits must be positive", ErrBadConfig)
	case c.MaxQueryLength <= 0:
		return fmt.Errorf("%w: MaxQueryLength must be positive", ErrBadConfig)
	case c.TimeoutBroadcastTxCommit <= 0 || c.WriteTimeout <= 0 || c.WebsocketPingPeriod <= 0 ||
		c.ReadTimeout <= 0 || c.ReadHeaderTimeout <= 0:
		return fmt.Errorf("%w: timeouts must be positive", ErrBadConfig)
	case c.TimeoutBroadcastTxCommit >= c.WriteTimeout:
		return fmt.Errorf("%w: TimeoutBroadcastTxCommit (%v) must be shorter than WriteTimeout (%v)",
			ErrBadConfig, c.TimeoutBroadcastTxCommit, c.WriteTimeout)
	case c.MaxAsyncBroadcasts <= 0:
		return fmt.Errorf("%w: MaxAsyncBroadcasts must be positive", ErrBadConfig)
	}
	return nil
}

// Listen opens a listener for addr ("tcp://host:port", "unix:///path", or
// a bare "host:port").
func Listen(addr string) (net.Listener, error) {
	network, address, err := SplitAddress(addr)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen on %s: %w", addr, err)
	}
	return l, nil
}

// SplitAddress splits "tcp://host:port" or "unix:///path" into a network
// and an address; a bare address is TCP.
func SplitAddress(addr string) (network, address string, err error) {
	network, address, ok := strings.Cut(addr, "://")
	if !ok {
		network, address = "tcp", addr
	}
	switch network {
	case "tcp", "unix":
	default:
		return "", "", fmt.Errorf("%w: address %q: network must be tcp or unix", ErrBadConfig, addr)
	}
	if address == "" {
		return "", "", fmt.Errorf("%w: address %q is empty", ErrBadConfig, addr)
	}
	return network, address, nil
}
