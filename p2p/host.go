package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/observedaddrs"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	basicconnmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// tcpHost is a libp2p basic host over TCP, Noise and yamux, with identify
// and observed-address discovery; no relay, ping, NAT port mapping,
// hole punching, AutoNAT or metrics.
//
// It is assembled from go-libp2p's parts the way its config.NewNode does
// (v0.51), rather than with libp2p.New, because the root and config
// packages import the QUIC, WebTransport and WebRTC transports: linking
// them added ~11 MB to the binary, most of it resident.
type tcpHost struct {
	*bhost.BasicHost
	obs *observedaddrs.Manager
}

// Close stops address discovery, then the host, which closes the
// connection manager, swarm, peerstore and resource manager.
func (h *tcpHost) Close() error {
	return errors.Join(h.obs.Close(), h.BasicHost.Close())
}

// newHost builds and starts a host for the node key priv, listening on
// listen (all TCP), with a connection manager of maxPeers peers and the
// connection gater g. On error everything it opened is closed.
func newHost(priv crypto.PrivKey, listen []ma.Multiaddr, maxPeers int, g connmgr.ConnectionGater) (*tcpHost, error) {
	cm, err := basicconnmgr.NewConnManager(maxPeers, maxPeers+maxPeers/4+2, basicconnmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(rcmgr.DefaultLimits.AutoScale()))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("resource manager: %w", err), cm.Close())
	}
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("peerstore: %w", err), rm.Close(), cm.Close())
	}
	// Until the basic host owns them, closeParts closes what is open.
	var sw *swarm.Swarm
	closeParts := func(err error) error {
		errs := []error{err}
		if sw != nil {
			errs = append(errs, sw.Close())
		}
		return errors.Join(append(errs, ps.Close(), rm.Close(), cm.Close())...)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, closeParts(fmt.Errorf("peer ID: %w", err))
	}
	if err := ps.AddPrivKey(id, priv); err != nil {
		return nil, closeParts(fmt.Errorf("peerstore: %w", err))
	}
	if err := ps.AddPubKey(id, priv.GetPublic()); err != nil {
		return nil, closeParts(fmt.Errorf("peerstore: %w", err))
	}
	bus := eventbus.NewBus()
	sw, err = swarm.NewSwarm(id, ps, bus, swarm.WithConnectionGater(g), swarm.WithResourceManager(rm))
	if err != nil {
		return nil, closeParts(fmt.Errorf("swarm: %w", err))
	}
	muxers := []tptu.StreamMuxer{{ID: yamux.ID, Muxer: yamux.DefaultTransport}}
	security, err := noise.New(noise.ID, priv, muxers)
	if err != nil {
		return nil, closeParts(fmt.Errorf("noise: %w", err))
	}
	upgrader, err := tptu.New([]sec.SecureTransport{security}, muxers, nil, rm, g)
	if err != nil {
		return nil, closeParts(fmt.Errorf("upgrader: %w", err))
	}
	tcpTransport, err := tcp.NewTCPTransport(upgrader, rm, nil)
	if err != nil {
		return nil, closeParts(fmt.Errorf("tcp transport: %w", err))
	}
	if err := sw.AddTransport(tcpTransport); err != nil {
		return nil, closeParts(fmt.Errorf("tcp transport: %w", err))
	}
	obs, err := observedaddrs.NewManager(bus, sw)
	if err != nil {
		return nil, closeParts(fmt.Errorf("observed addresses: %w", err))
	}
	bh, err := bhost.NewHost(sw, &bhost.HostOpts{EventBus: bus, ConnManager: cm, ObservedAddrsManager: obs})
	if err != nil {
		return nil, closeParts(fmt.Errorf("host: %w", err))
	}
	h := &tcpHost{BasicHost: bh, obs: obs}
	if err := sw.Listen(listen...); err != nil {
		return nil, errors.Join(fmt.Errorf("listen: %w", err), h.Close())
	}
	obs.Start(sw)
	bh.Start()
	return h, nil
}
