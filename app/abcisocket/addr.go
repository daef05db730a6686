package abcisocket

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrBadAddress is returned for an address that is neither tcp://host:port
// nor unix:///path.
var ErrBadAddress = errors.New("bad abci address")

// splitAddr turns "tcp://host:port" or "unix:///path" into the network and
// address net.Dial and net.Listen take. A bare "host:port" means TCP.
func splitAddr(addr string) (network, address string, err error) {
	network, address, found := strings.Cut(addr, "://")
	if !found {
		network, address = "tcp", addr
	}
	if address == "" || (network != "tcp" && network != "unix") {
		return "", "", fmt.Errorf("%w: %q", ErrBadAddress, addr)
	}
	return network, address, nil
}

// Listen opens a listener on a tcp:// or unix:// address.
func Listen(addr string) (net.Listener, error) {
	network, address, err := splitAddr(addr)
	if err != nil {
		return nil, err
	}
	return net.Listen(network, address)
}

// URL returns the address of ln in the form Dial and Listen take.
func URL(ln net.Listener) string {
	a := ln.Addr()
	return a.Network() + "://" + a.String()
}
