package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/bftnode/bftnode/types"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// ListenMultiaddr turns a p2p listen address into a libp2p multiaddr. It
// accepts a multiaddr (/ip4/0.0.0.0/tcp/26656) or CometBFT's form
// (tcp://0.0.0.0:26656).
func ListenMultiaddr(s string) (ma.Multiaddr, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a multiaddr: %v", s, err)
		}
		return m, nil
	}
	host, port, err := splitTCP(s)
	if err != nil {
		return nil, err
	}
	proto := "dns"
	if ip := net.ParseIP(host); ip != nil {
		proto = "ip4"
		if ip.To4() == nil {
			proto = "ip6"
		}
	}
	m, err := ma.NewMultiaddr(fmt.Sprintf("/%s/%s/tcp/%d", proto, host, port))
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	return m, nil
}

// splitTCP parses tcp://host:port.
func splitTCP(s string) (string, int, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "tcp" || u.Host == "" || u.Path != "" {
		return "", 0, fmt.Errorf("%q: want tcp://host:port or a multiaddr such as /ip4/0.0.0.0/tcp/26656", s)
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want tcp://host:port: %v", s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not a number in [0, 65535]", s, portStr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParsePeers parses a comma-separated list of peer multiaddrs, each ending in
// /p2p/<peer ID>, into one AddrInfo per peer.
func ParsePeers(list string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range SplitList(list) {
		if id, ok := cometNodeIDIn(s); ok {
			return nil, fmt.Errorf("peer %q names node ID %s, which CometBFT dials but libp2p cannot: "+
				"use /ip4/HOST/tcp/PORT/p2p/PEERID with the node's libp2p peer ID (`bftnode show-node-id --libp2p` on it, "+
				"or node_info.other.libp2p_peer_id in its /status)", s, id)
		}
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("peer %q is not a multiaddr (want /ip4/HOST/tcp/PORT/p2p/PEERID): %v", s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("peer %q: %v (want /ip4/HOST/tcp/PORT/p2p/PEERID; `bftnode show-node-id --libp2p` prints a node's peer ID)", s, err)
		}
		out = append(out, *info)
	}
	return out, nil
}

// RPCListenHostPort parses the [rpc] laddr, tcp://host:port, into host:port.
func RPCListenHostPort(laddr string) (string, error) {
	host, port, err := splitTCP(laddr)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// cometNodeIDIn returns the CometBFT node ID (40 hex digits) that s puts
// where a peer ID belongs: before the @ of CometBFT's ID@host:port, or after
// /p2p/.
func cometNodeIDIn(s string) (string, bool) {
	id, _, found := strings.Cut(s, "@")
	if !found {
		i := strings.LastIndex(s, "/p2p/")
		if i < 0 {
			return "", false
		}
		id = s[i+len("/p2p/"):]
	}
	if b, err := hex.DecodeString(id); err != nil || len(b) != len(types.Address{}) {
		return "", false
	}
	return id, true
}
