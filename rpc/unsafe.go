package rpc

import (
	"context"
	"fmt"
	"time"
)

// MaxDisconnect bounds unsafe_disconnect's duration, so that a mistyped
// request cannot cut a node off for long.
const MaxDisconnect = 10 * time.Minute

// UnsafeBackend is the optional part of a Backend behind the operator-only
// routes, which the server offers only when Config.Unsafe is set (CometBFT's
// [rpc] unsafe). With Unsafe off they are unknown methods.
type UnsafeBackend interface {
	// Disconnect cuts the node off from all its peers for d (0 < d <=
	// MaxDisconnect): every connection is closed and none is accepted or
	// dialled until d has passed; then the node reconnects.
	Disconnect(ctx context.Context, d time.Duration) error
}

// unsafeMethods adds the operator-only routes to table.
func (s *Server) unsafeMethods(table map[string]method) {
	table["unsafe_disconnect"] = method{params: []string{"duration"}, fn: s.unsafeDisconnect}
}

type disconnectView struct {
	Duration string    `json:"duration"`
	Until    time.Time `json:"until"`
}

func (s *Server) unsafeDisconnect(ctx context.Context, a *args) (any, error) {
	str, err := a.String("duration", "")
	if err != nil {
		return nil, err
	}
	if str == "" {
		return nil, badParam("duration", "required: a Go duration such as \"30s\" or \"2m\"")
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		return nil, badParam("duration", "%q is not a Go duration such as \"30s\" or \"2m\"", str)
	}
	if d <= 0 || d > MaxDisconnect {
		return nil, badParam("duration", "%v is out of range: want more than 0 and at most %v", d, MaxDisconnect)
	}
	ub := s.backend.(UnsafeBackend) // checked by NewServer
	if err := ub.Disconnect(ctx, d); err != nil {
		return nil, fmt.Errorf("disconnect: %w", err)
	}
	s.logger.Warn("unsafe_disconnect: cut off from all peers", "for", d)
	return disconnectView{Duration: d.String(), Until: time.Now().Add(d).UTC()}, nil
}
