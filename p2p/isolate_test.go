package p2p

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// offsetClock is the wall clock shifted by an offset tests advance.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *offsetClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newClockedNode is newTestNode with the gater reading clock.
func newClockedNode(t *testing.T, clock *offsetClock, persistent ...*Transport) *Transport {
	t.Helper()
	tr := buildTestNode(t, func(c *Config) {
		for _, p := range persistent {
			c.PersistentPeers = append(c.PersistentPeers, p.Addrs()[0])
		}
	})
	tr.gater.now = clock.now // before Start: nothing reads it yet
	return startTestNode(t, tr)
}

func connectedTo(a, b *Transport) bool {
	return a.host.Network().Connectedness(b.ID()) == network.Connected
}

func TestIsolateCutsOffEveryPeerUntilItEnds(t *testing.T) {
	b := newTestNode(t, nil)
	c := newTestNode(t, nil)
	clock := &offsetClock{}
	a := newClockedNode(t, clock, b, c)
	waitFor(t, "a to connect to b and c", func() bool { return len(a.Peers()) == 2 })
	if a.Isolated() {
		t.Fatal("isolated before Isolate")
	}

	a.Isolate(time.Minute)
	if !a.Isolated() {
		t.Fatal("not isolated after Isolate")
	}
	if n := len(a.Peers()); n != 0 {
		t.Fatalf("isolated node still has %d peers", n)
	}
	waitFor(t, "b and c to see a gone", func() bool {
		return !connectedTo(b, a) && !connectedTo(c, a) && !hasPeer(b, a.ID()) && !hasPeer(c, a.ID())
	})
	// Inbound connections are refused while isolated.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refused := a.gater.refused.Load()
	if err := b.host.Connect(ctx, addrInfo(a)); err == nil {
		waitFor(t, "the refused connection to close", func() bool { return !connectedTo(b, a) })
	}
	if a.gater.refused.Load() == refused {
		t.Fatal("an inbound connection while isolated was not refused by the gater")
	}
	if len(a.Peers()) != 0 || !a.Isolated() {
		t.Fatal("a peer got through the isolation")
	}
	// Outbound: a's dial loop does not reach b or c while isolated.
	ticks := a.ticks.Load()
	waitFor(t, "a few gossip rounds", func() bool { return a.ticks.Load() >= ticks+5 })
	if connectedTo(a, b) || connectedTo(a, c) {
		t.Fatal("the isolated node dialled a peer")
	}

	// A shorter isolation does not cut a longer one short.
	a.Isolate(time.Second)
	clock.advance(30 * time.Second)
	if !a.Isolated() {
		t.Fatal("a shorter Isolate ended the longer isolation")
	}

	clock.advance(31 * time.Second)
	if a.Isolated() {
		t.Fatal("still isolated after the duration passed")
	}
	// b and c may also have found each other through a's peer exchange.
	waitFor(t, "a to redial its persistent peers", func() bool {
		return len(a.Peers()) == 2 && hasPeer(b, a.ID()) && hasPeer(c, a.ID())
	})
}

func TestIsolateEndsOnTheWallClock(t *testing.T) {
	b := newTestNode(t, nil)
	a := newTestNode(t, func(c *Config) { c.PersistentPeers = []string{b.Addrs()[0]} })
	waitFor(t, "a to connect to b", func() bool { return len(a.Peers()) == 1 })
	a.Isolate(0) // not positive: no effect
	if a.Isolated() || len(a.Peers()) != 1 {
		t.Fatal("Isolate(0) isolated the node")
	}
	a.Isolate(200 * time.Millisecond)
	if len(a.Peers()) != 0 {
		t.Fatal("Isolate kept a peer")
	}
	waitFor(t, "the isolation to end", func() bool { return !a.Isolated() })
	waitFor(t, "a to reconnect to b", func() bool { return len(a.Peers()) == 1 && hasPeer(b, a.ID()) })
}
