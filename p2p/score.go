package p2p

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Penalties added to a peer's score; at Config.BanThreshold it is banned.
const (
	penaltyOversized  = 100 // framing is lost: the stream is reset
	penaltyUndecoded  = 25
	penaltyInvalid    = 25 // decodes but fails checks (bad proof, empty envelope)
	penaltyWrongChain = 100
)

// gater refuses connections to and from banned peers, and to and from
// every peer while the node is isolated (isolate.go). It satisfies
// connmgr.ConnectionGater.
type gater struct {
	refused atomic.Uint64 // connections refused, for tests and logs

	mu            sync.Mutex
	banned        map[peer.ID]time.Time // until
	isolatedUntil time.Time             // every peer is refused before then
	now           func() time.Time
}

func newGater() *gater {
	return &gater{banned: make(map[peer.ID]time.Time), now: time.Now}
}

func (g *gater) ban(p peer.ID, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.banned[p] = g.now().Add(d)
}

// isBanned reports whether p is refused now: it is banned, or the node
// is isolated and every peer is.
func (g *gater) isBanned(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.isolatedLocked() {
		return true
	}
	until, ok := g.banned[p]
	if !ok {
		return false
	}
	if g.now().After(until) {
		delete(g.banned, p)
		return false
	}
	return true
}

// sweep forgets the bans that have expired.
func (g *gater) sweep() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for p, until := range g.banned {
		if now.After(until) {
			delete(g.banned, p)
		}
	}
}

func (g *gater) allow(p peer.ID) bool {
	if g.isBanned(p) {
		g.refused.Add(1)
		return false
	}
	return true
}

func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.allow(p) }

func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.allow(p) }

func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.allow(p)
}

// InterceptUpgraded catches a connection whose handshake passed
// InterceptSecured just before the node was isolated.
func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.allow(c.RemotePeer()), 0
}

// scoreDecay is how fast misbehaviour is forgiven: one point per period,
// so an honest peer's rare glitches never add up to a ban.
const scoreDecay = 10 * time.Second

type score struct {
	points int
	at     time.Time
}

// scores tracks misbehaviour points per peer.
type scores struct {
	mu sync.Mutex
	m  map[peer.ID]score
}

// add adds points at now and reports whether the peer reached threshold
// (its score is then reset, the caller bans it).
func (s *scores) add(p peer.ID, points, threshold int, now time.Time) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[peer.ID]score)
	}
	sc := s.m[p]
	if !sc.at.IsZero() {
		sc.points = max(0, sc.points-int(now.Sub(sc.at)/scoreDecay))
	}
	sc.points += points
	sc.at = now
	if sc.points >= threshold {
		delete(s.m, p)
		return sc.points, true
	}
	s.m[p] = sc
	return sc.points, false
}

// sweep forgets the peers whose points have all been forgiven by now.
func (s *scores) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, sc := range s.m {
		if sc.points-int(now.Sub(sc.at)/scoreDecay) <= 0 {
			delete(s.m, p)
		}
	}
}

// sweepScores runs the sweeps of the score and ban maps, so that neither
// grows with every peer ever seen.
func (t *Transport) sweepScores() {
	t.scores.sweep(t.gater.now())
	t.gater.sweep()
}

// penalize lowers p's score for reason and bans it past the threshold:
// the gater refuses it for BanDuration and its connections are closed.
func (t *Transport) penalize(p peer.ID, points int, reason error) {
	v, ban := t.scores.add(p, points, t.cfg.BanThreshold, t.gater.now())
	t.log.Warn("peer misbehaved", "peer", p, "score", v, "reason", reason)
	if !ban {
		return
	}
	t.gater.ban(p, t.cfg.BanDuration)
	t.stats.bans.Add(1)
	t.log.Warn("peer banned", "peer", p, "for", t.cfg.BanDuration)
	_ = t.host.Network().ClosePeer(p)
	// Forget it now rather than on the disconnect notification, which does
	// not come while a second connection to p is still being torn down.
	t.dropPeer(p)
}
