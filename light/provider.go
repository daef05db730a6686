package light

import (
	"context"
	"errors"
)

// Provider is a source of light blocks: a full node's RPC, or an in-memory
// chain in tests. Nothing it returns is trusted.
type Provider interface {
	// ID names the provider in logs and reports (its address).
	ID() string
	// LightBlock returns the light block at height, or at the latest
	// height the provider has when height is 0. It wraps
	// ErrLightBlockNotFound when the provider does not have that height
	// (pruned, or not there yet).
	LightBlock(ctx context.Context, height int64) (*LightBlock, error)
}

// ErrLightBlockNotFound is wrapped by Provider errors for a height the
// provider does not have.
var ErrLightBlockNotFound = errors.New("light block not found")
