package p2p

import (
	"time"
)

// Isolate cuts this node off from every peer for d: it closes all
// connections, and until d has passed the connection gater refuses every
// peer, inbound and outbound, and no peer is dialled. Afterwards the
// persistent and bootstrap peers are redialled as usual (a node whose
// persistent peers are down keeps its short backoff, so it is back within
// about a second). Calling it again while isolated extends the isolation
// if the new end is later. A d that is not positive does nothing.
//
// It is a fault-injection tool for tests and operators (the RPC's
// unsafe_disconnect), not something the node does on its own.
func (t *Transport) Isolate(d time.Duration) {
	if d <= 0 {
		return
	}
	until := t.gater.isolate(d)
	net := t.host.Network()
	for _, p := range net.Peers() {
		_ = net.ClosePeer(p)
		t.dropPeer(p)
	}
	t.log.Warn("isolated from all peers", "for", d, "until", until)
}

// Isolated reports whether the node is cut off from its peers by Isolate.
func (t *Transport) Isolated() bool { return t.gater.isolated() }

// isolate makes the gater refuse every peer for d (or longer, when an
// earlier isolation ends later) and returns when it ends.
func (g *gater) isolate(d time.Duration) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	until := g.now().Add(d)
	if until.After(g.isolatedUntil) {
		g.isolatedUntil = until
	}
	return g.isolatedUntil
}

func (g *gater) isolated() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.isolatedLocked()
}

func (g *gater) isolatedLocked() bool {
	return g.now().Before(g.isolatedUntil)
}
