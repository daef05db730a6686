package p2p

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
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
	bannedIPs     map[netip.Addr]time.Time
	idsByIP       map[netip.Addr]map[peer.ID]time.Time // peer IDs seen from an IP, when last seen
	isolatedUntil time.Time                            // every peer is refused before then
	now           func() time.Time
}

// Per remote IP (loopback exempt, as in libp2p's resource manager, which
// also caps concurrent connections per IPv4 address at 8): a banned peer's
// IP is banned with it, so a new peer ID from there is refused too, and at
// most maxIDsPerIP peer IDs may connect from one IP within idWindow.
const (
	maxIDsPerIP = 8
	idWindow    = 10 * time.Minute
)

func newGater() *gater {
	return &gater{banned: make(map[peer.ID]time.Time), bannedIPs: make(map[netip.Addr]time.Time),
		idsByIP: make(map[netip.Addr]map[peer.ID]time.Time), now: time.Now}
}

// remoteIP is the IP a connection comes from, if it has one that is not
// loopback.
func remoteIP(a ma.Multiaddr) (netip.Addr, bool) {
	ip, err := manet.ToIP(a)
	if err != nil {
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok || addr.Unmap().IsLoopback() {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// banIP refuses every connection from the IP of a until d from now.
func (g *gater) banIP(a ma.Multiaddr, d time.Duration) {
	ip, ok := remoteIP(a)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.bannedIPs[ip] = g.now().Add(d)
}

// allowIP reports whether peer p may connect from a: its IP is not banned
// and p is one of the first maxIDsPerIP peer IDs seen from it in idWindow.
func (g *gater) allowIP(p peer.ID, a ma.Multiaddr) bool {
	ip, ok := remoteIP(a)
	if !ok {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if until, ok := g.bannedIPs[ip]; ok && now.Before(until) {
		return false
	}
	ids := g.idsByIP[ip]
	if ids == nil {
		ids = make(map[peer.ID]time.Time)
		g.idsByIP[ip] = ids
	}
	if _, known := ids[p]; !known {
		for id, at := range ids {
			if now.Sub(at) > idWindow {
				delete(ids, id)
			}
		}
		if len(ids) >= maxIDsPerIP {
			return false
		}
	}
	ids[p] = now
	return true
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

// sweep forgets the bans that have expired and the peer IDs seen from an
// IP longer than idWindow ago.
func (g *gater) sweep() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for p, until := range g.banned {
		if now.After(until) {
			delete(g.banned, p)
		}
	}
	for ip, until := range g.bannedIPs {
		if now.After(until) {
			delete(g.bannedIPs, ip)
		}
	}
	for ip, ids := range g.idsByIP {
		for id, at := range ids {
			if now.Sub(at) > idWindow {
				delete(ids, id)
			}
		}
		if len(ids) == 0 {
			delete(g.idsByIP, ip)
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

func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	if !g.allow(p) {
		return false
	}
	if !g.allowIP(p, c.RemoteMultiaddr()) {
		g.refused.Add(1)
		return false
	}
	return true
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
	for _, c := range t.host.Network().ConnsToPeer(p) {
		t.gater.banIP(c.RemoteMultiaddr(), t.cfg.BanDuration)
	}
	t.stats.bans.Add(1)
	t.log.Warn("peer banned", "peer", p, "for", t.cfg.BanDuration)
	_ = t.host.Network().ClosePeer(p)
	// Forget it now rather than on the disconnect notification, which does
	// not come while a second connection to p is still being torn down.
	t.dropPeer(p)
	t.distrustSync(p)
}
