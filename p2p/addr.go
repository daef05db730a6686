package p2p

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PeerIDFromPubKey derives the libp2p peer ID of an Ed25519 public key.
func PeerIDFromPubKey(pub ed25519.PublicKey) (peer.ID, error) {
	pk, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return peer.IDFromPublicKey(pk)
}

// PeerIDFromKey derives the libp2p peer ID of an Ed25519 node key.
func PeerIDFromKey(priv ed25519.PrivateKey) (peer.ID, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("%w: node key is %d bytes", ErrConfig, len(priv))
	}
	return PeerIDFromPubKey(priv.Public().(ed25519.PublicKey))
}

// FormatPeerAddr formats "ID@host:port", the short form of a TCP peer
// address that ParsePeerAddr accepts.
func FormatPeerAddr(id peer.ID, host string, port int) string {
	return id.String() + "@" + net.JoinHostPort(host, strconv.Itoa(port))
}

// FormatPeerMultiaddr formats a full multiaddr with the peer ID, e.g.
// /ip4/127.0.0.1/tcp/26656/p2p/12D3KooW...
func FormatPeerMultiaddr(id peer.ID, addr ma.Multiaddr) string {
	return addr.String() + "/p2p/" + id.String()
}

// ParsePeerAddr parses a peer address: either a multiaddr ending in
// /p2p/<ID> (over TCP: /ip4/HOST/tcp/PORT/p2p/<ID>, or ip6, dns, dns4,
// dns6), or "ID@host:port" (host an IPv4/IPv6 literal or a DNS name).
func ParsePeerAddr(s string) (peer.AddrInfo, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%w: %q: %w", ErrPeerAddr, s, err)
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%w: %q: %w", ErrPeerAddr, s, err)
		}
		for _, a := range ai.Addrs {
			if err := checkTCPAddr(a); err != nil {
				return peer.AddrInfo{}, fmt.Errorf("%w: %w", ErrPeerAddr, err)
			}
		}
		return *ai, nil
	}
	idStr, hostPort, ok := strings.Cut(s, "@")
	if !ok {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: want ID@host:port or a /p2p/ multiaddr", ErrPeerAddr, s)
	}
	id, err := peer.Decode(idStr)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: peer ID: %w", ErrPeerAddr, s, err)
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: %w", ErrPeerAddr, s, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: bad port", ErrPeerAddr, s)
	}
	proto := "dns"
	if ip := net.ParseIP(host); ip != nil {
		proto = "ip4"
		if ip.To4() == nil {
			proto = "ip6"
		}
	}
	m, err := ma.NewMultiaddr("/" + proto + "/" + host + "/tcp/" + port)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("%w: %q: %w", ErrPeerAddr, s, err)
	}
	return peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{m}}, nil
}

// checkTCPAddr checks that m is /ip4/HOST/tcp/PORT (or ip6, dns, dns4,
// dns6 for the host), the only transport the node speaks.
func checkTCPAddr(m ma.Multiaddr) error {
	if len(m) == 2 && m[1].Code() == ma.P_TCP {
		switch m[0].Code() {
		case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
			return nil
		}
	}
	return fmt.Errorf("%q: only TCP is supported (no QUIC, WebSocket or other transports): use /ip4/HOST/tcp/PORT", m.String())
}
