package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bftnode/bftnode/rpc"
)

// TestDisconnectedValidatorCatchesUp: unsafe_disconnect cuts one of four
// validators off from its peers; the other three keep committing without
// it, and once the duration has passed it reconnects, catches up and signs
// again. On a node without [rpc] unsafe the route does not exist.
func TestDisconnectedValidatorCatchesUp(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	fast(cfgs)
	cfgs[3].RPC.Unsafe = true
	for _, cfg := range cfgs[:3] {
		start(t, cfg)
	}
	n3, _ := startNode(t, cfgs[3])
	c0, c3 := client(t, cfgs[0]), client(t, cfgs[3])
	ctx := context.Background()
	waitHeight(t, c3, 3, time.Minute)

	var rpcErr *rpc.Error
	if err := c0.Call(ctx, "unsafe_disconnect", map[string]any{"duration": "30s"}, nil); !errors.As(err, &rpcErr) || rpcErr.Code != rpc.CodeMethodNotFound {
		t.Fatalf("unsafe_disconnect without [rpc] unsafe: %v, want method not found", err)
	}
	if len(n3.transport.Peers()) == 0 {
		t.Fatal("node3 has no peers before the disconnect")
	}

	// Long enough for the others' 5 heights even on a loaded machine (they
	// usually take a second or two); the test waits it out below.
	const cutFor = 30 * time.Second
	if err := c3.Call(ctx, "unsafe_disconnect", map[string]any{"duration": cutFor.String()}, nil); err != nil {
		t.Fatal(err)
	}
	if !n3.transport.Isolated() || len(n3.transport.Peers()) != 0 {
		t.Fatal("node3 is not cut off after unsafe_disconnect")
	}
	cut := n3.store.Height()
	down, err := height(ctx, c0)
	if err != nil {
		t.Fatal(err)
	}
	// The other three commit on their own while node3 is cut off.
	waitHeight(t, c0, down+5, cutFor)
	if !n3.transport.Isolated() {
		t.Fatalf("node3 reconnected before the other three committed 5 heights (the disconnect lasts %v)", cutFor)
	}
	if h := n3.store.Height(); h > cut+1 {
		t.Fatalf("node3 committed up to %d while cut off at %d", h, cut)
	}

	// Then it reconnects, catches up and takes part again.
	waitFor(t, "node3 to reconnect", time.Minute, func() (bool, error) {
		return !n3.transport.Isolated() && len(n3.transport.Peers()) == 3, nil
	})
	top, err := height(ctx, c0)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, c3, top+3, time.Minute)
	pv := validatorAddr(t, cfgs[3])
	waitFor(t, "node3 to sign a commit again", time.Minute, func() (bool, error) {
		h, err := height(ctx, c3)
		if err != nil || h < top+4 {
			return false, err
		}
		signers, err := signersAt(ctx, c0, h-1)
		return signers[pv], err
	})
}
