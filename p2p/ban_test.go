package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// newRawHost is a bare libp2p host that speaks our protocols badly.
func newRawHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func dialRaw(ctx context.Context, h host.Host, tr *Transport) error {
	return h.Connect(ctx, addrInfo(tr))
}

func TestMisbehavingPeersAreBanned(t *testing.T) {
	a := newTestNode(t, nil)
	b := newTestNode(t, nil)
	connect(t, b, a)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cases := []struct {
		name string
		// misbehave makes peer h misbehave towards a; for a full
		// transport, tr is set instead.
		misbehave func(t *testing.T, s network.Stream)
		report    bool
	}{
		{name: "random bytes", misbehave: func(t *testing.T, s network.Stream) {
			rnd := rand.New(rand.NewPCG(1, 2))
			for range 8 { // well-framed garbage: undecodable frames
				payload := make([]byte, 100)
				for i := range payload {
					payload[i] = byte(rnd.UintN(256))
				}
				frame := binary.AppendUvarint(nil, uint64(len(payload)))
				if _, err := s.Write(append(frame, payload...)); err != nil {
					return // already cut off
				}
			}
		}},
		{name: "oversized frame", misbehave: func(t *testing.T, s network.Stream) {
			frame := binary.AppendUvarint(nil, 64<<20)
			_, _ = s.Write(append(frame, make([]byte, 1024)...))
		}},
		{name: "reported bad signature", report: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var id string
			var redial func() error
			var remote network.Network // the misbehaving side's view
			if tc.report {
				c := newTestNode(t, nil)
				connect(t, c, a)
				id = c.ID().String()
				waitFor(t, "c known to a", func() bool { return hasPeer(a, c.ID()) })
				errBadSig := errors.New("vote: " + types.ErrBadSignature.Error())
				a.ReportPeer(id, errBadSig)
				a.ReportPeer(id, errBadSig)
				redial = func() error { return c.host.Connect(ctx, addrInfo(a)) }
				remote = c.host.Network()
			} else {
				h := newRawHost(t)
				if err := dialRaw(ctx, h, a); err != nil {
					t.Fatal(err)
				}
				id = h.ID().String()
				s, err := h.NewStream(ctx, a.ID(), ProtocolConsensus)
				if err != nil {
					t.Fatal(err)
				}
				tc.misbehave(t, s)
				redial = func() error { return dialRaw(ctx, h, a) }
				remote = h.Network()
			}
			pid := mustDecode(t, id)
			waitFor(t, "ban and disconnect", func() bool {
				return a.gater.isBanned(pid) && a.host.Network().Connectedness(pid) != network.Connected &&
					remote.Connectedness(a.ID()) != network.Connected
			})
			// The dialer may finish its side of the handshake before a's
			// gater refuses the secured connection; a then closes it.
			refused := a.gater.refused.Load()
			_ = redial()
			waitFor(t, "redial refused and closed", func() bool {
				return a.gater.refused.Load() > refused && remote.Connectedness(a.ID()) != network.Connected
			})
			if a.host.Network().Connectedness(pid) == network.Connected || hasPeer(a, pid) {
				t.Fatal("banned peer connected")
			}
		})
	}
	if s := a.Stats(); s.Bans != 3 || s.BadFrames == 0 {
		t.Fatalf("stats after bans: %+v", s)
	}
	// The honest peers still talk.
	if a.host.Network().Connectedness(b.ID()) != network.Connected {
		t.Fatal("honest peer b was disconnected")
	}
	a.SetStatus(msgs.Status{Height: 1})
	b.SetStatus(msgs.Status{Height: 1})
	b.Broadcast(msgs.VoteMsg{Vote: &types.Vote{Type: types.PrevoteType, Height: 1, ValidatorAddress: testAddr(1), ValidatorIndex: 1, Timestamp: time.Unix(1, 0).UTC(), Signature: fakeSig("b")}})
	m := receive(t, a)
	if v, ok := m.Msg.(msgs.VoteMsg); !ok || v.Vote.ValidatorIndex != 1 || m.From != b.ID().String() {
		t.Fatalf("a got %+v, want b's vote", m)
	}
}

func hasPeer(tr *Transport, id peer.ID) bool {
	return tr.peers.get(id) != nil
}

// The score and ban maps forget a peer once its points are forgiven or
// its ban has expired (finding 7 of issue 16: they were never swept, so
// they grew with every peer ID ever seen).
func TestScoresAndBansAreSwept(t *testing.T) {
	var s scores
	t0 := time.Unix(1000, 0)
	s.add("a", 3, 100, t0)
	s.add("b", 50, 100, t0)
	s.sweep(t0.Add(3 * scoreDecay))
	if _, ok := s.m["a"]; ok {
		t.Error("a peer whose points were all forgiven is still tracked")
	}
	if _, ok := s.m["b"]; !ok {
		t.Error("a peer with points left was forgotten")
	}

	now := t0
	g := newGater()
	g.now = func() time.Time { return now }
	g.ban("x", time.Minute)
	g.ban("y", time.Hour)
	now = now.Add(2 * time.Minute)
	g.sweep()
	if _, ok := g.banned["x"]; ok {
		t.Error("an expired ban is still held")
	}
	if !g.isBanned("y") {
		t.Error("a ban in force was swept")
	}
}

type connAddrs struct{ remote ma.Multiaddr }

func (c connAddrs) LocalMultiaddr() ma.Multiaddr  { return ma.StringCast("/ip4/192.0.2.1/tcp/26656") }
func (c connAddrs) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// A banned peer's IP is banned with it, so new peer IDs from there are
// refused, and one IP may bring at most maxIDsPerIP peer IDs per idWindow
// (finding 7 of issue 16: bans were by peer ID only, and new IDs were
// free). Loopback is exempt, as in libp2p's own per-IP limits.
func TestGaterLimitsPeerIDsAndBansPerIP(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newGater()
	g.now = func() time.Time { return now }
	from := func(ip string) connAddrs { return connAddrs{ma.StringCast("/ip4/" + ip + "/tcp/4001")} }
	id := func(i int) peer.ID { return peer.ID(fmt.Sprint("peer-", i)) }

	for i := range maxIDsPerIP {
		if !g.InterceptSecured(network.DirInbound, id(i), from("203.0.113.5")) {
			t.Fatalf("peer ID %d of an IP refused, want %d allowed", i, maxIDsPerIP)
		}
	}
	if g.InterceptSecured(network.DirInbound, id(maxIDsPerIP), from("203.0.113.5")) {
		t.Fatalf("peer ID %d from one IP within %v allowed", maxIDsPerIP+1, idWindow)
	}
	if !g.InterceptSecured(network.DirInbound, id(0), from("203.0.113.5")) {
		t.Fatal("a known peer ID reconnecting from its IP refused")
	}
	if !g.InterceptSecured(network.DirInbound, id(maxIDsPerIP), from("203.0.113.6")) {
		t.Fatal("a peer ID from another IP refused")
	}
	now = now.Add(idWindow + time.Second)
	if !g.InterceptSecured(network.DirInbound, id(100), from("203.0.113.5")) {
		t.Fatalf("a new peer ID refused after %v", idWindow)
	}

	g.banIP(from("198.51.100.7").remote, time.Minute)
	if g.InterceptSecured(network.DirInbound, id(200), from("198.51.100.7")) {
		t.Fatal("a new peer ID from a banned IP allowed")
	}
	g.banIP(from("127.0.0.1").remote, time.Minute)
	for i := range 2 * maxIDsPerIP {
		if !g.InterceptSecured(network.DirInbound, id(300+i), from("127.0.0.1")) {
			t.Fatal("loopback refused: it is exempt from per-IP limits")
		}
	}
	now = now.Add(idWindow + time.Minute)
	g.sweep()
	if len(g.bannedIPs) != 0 || len(g.idsByIP) != 0 {
		t.Fatalf("after sweep: %d banned IPs and %d IPs tracked, want none", len(g.bannedIPs), len(g.idsByIP))
	}
	if !g.InterceptSecured(network.DirInbound, id(201), from("198.51.100.7")) {
		t.Fatal("an IP still refused after its ban expired")
	}
}

// A peer that comes and goes leaves nothing in the libp2p peerstore but
// its addresses (which expire): a stream of fresh peer IDs cannot grow the
// node's memory without bound. libp2p itself keeps each peer's key,
// protocols and identify metadata forever.
func TestDisconnectedPeersLeaveThePeerstore(t *testing.T) {
	a := newTestNode(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const churn = 20
	for range churn {
		h := newRawHost(t)
		if err := dialRaw(ctx, h, a); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the peer known", func() bool { return hasPeer(a, h.ID()) })
		_ = h.Close()
	}
	waitFor(t, "every churned peer forgotten by the peerstore", func() bool {
		return len(a.host.Peerstore().PeersWithKeys()) <= 1 // a's own key
	})
}
