package node

import (
	"context"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// The backend serves the RPC's operator-only routes, which the server
// offers only with [rpc] unsafe = true.
var _ rpc.UnsafeBackend = (*backend)(nil)

// Disconnect cuts the node off from its peers for d (unsafe_disconnect):
// consensus keeps running alone, and catches up once the peers are back.
func (b *backend) Disconnect(_ context.Context, d time.Duration) error {
	b.n.transport.Isolate(d)
	return nil
}
