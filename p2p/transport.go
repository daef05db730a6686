package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/bftnode/bftnode/consensus/msgs"
)

// Transport is the libp2p implementation of msgs.Transport, plus block
// sync, peer exchange and transaction gossip.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	host   host.Host
	gater  *gater
	scores scores
	stats  counters

	evidenceKnown evidenceKnown // per peer, the evidence it sent us

	inbound chan msgs.Inbound
	relays  chan msgs.Msg // the engine's relay verdicts, for runRelay
	txs     chan InboundTxs

	persistent []peer.AddrInfo
	bootstrap  []peer.AddrInfo

	serving      servingSlots // block sync requests being served (own lock)
	syncView     syncView     // block sync: our height, peers' stored blocks (own lock)
	syncDistrust chan peer.ID // peers whose synced blocks to drop (runSync)
	vsets        valSets      // validator sets of the current and next heights (own lock)

	peers  peerSet         // connected peers and their writers (own lock)
	gossip consensusGossip // consensus gossip's state (own lock)

	syncWake chan struct{}
	pexWake  chan struct{}
	ticks    atomic.Uint64 // gossip rounds run, for tests

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started atomic.Bool
}

var _ msgs.Transport = (*Transport)(nil)

// New creates the libp2p host, listening on cfg.ListenAddrs, and registers
// the stream handlers. Call Start to dial peers and run gossip.
func New(cfg Config) (*Transport, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:          cfg,
		log:          cfg.Logger.With("module", "p2p"),
		gater:        newGater(),
		inbound:      make(chan msgs.Inbound, cfg.InboundBuffer),
		relays:       make(chan msgs.Msg, relayQueue),
		txs:          make(chan InboundTxs, txInboundQueue),
		peers:        peerSet{m: make(map[peer.ID]*peerState)},
		gossip:       consensusGossip{peers: make(map[peer.ID]*peerState), heights: make(map[int64]*heightData)},
		syncWake:     make(chan struct{}, 1),
		syncDistrust: make(chan peer.ID, 64),
		pexWake:      make(chan struct{}, 1),
	}
	for _, s := range cfg.PersistentPeers {
		ai, err := ParsePeerAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: persistent peer: %w", ErrConfig, err)
		}
		t.persistent = append(t.persistent, ai)
	}
	for _, s := range cfg.BootstrapPeers {
		ai, err := ParsePeerAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap peer: %w", ErrConfig, err)
		}
		t.bootstrap = append(t.bootstrap, ai)
	}
	priv, err := crypto.UnmarshalEd25519PrivateKey(cfg.PrivKey)
	if err != nil {
		return nil, fmt.Errorf("%w: node key: %w", ErrConfig, err)
	}
	listen := make([]ma.Multiaddr, 0, len(cfg.ListenAddrs))
	for _, s := range cfg.ListenAddrs {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: listen address %q: %w", ErrConfig, s, err)
		}
		if err := checkTCPAddr(m); err != nil {
			return nil, fmt.Errorf("%w: listen address: %w", ErrConfig, err)
		}
		listen = append(listen, m)
	}
	h, err := newHost(priv, listen, cfg.MaxPeers, t.gater)
	if err != nil {
		return nil, fmt.Errorf("%w: libp2p host: %w", ErrConfig, err)
	}
	t.host = h
	t.ctx, t.cancel = context.WithCancel(context.Background())
	for _, ai := range t.persistent {
		h.ConnManager().Protect(ai.ID, "persistent")
	}
	h.SetStreamHandler(ProtocolConsensus, t.handleConsensus)
	h.SetStreamHandler(ProtocolBlockSync, t.handleBlockSync)
	h.SetStreamHandler(ProtocolPex, t.handlePex)
	h.SetStreamHandler(ProtocolTx, t.handleTxs)
	if t.announcer() != nil {
		h.SetStreamHandler(ProtocolTxAnnounce, t.handleTxs)
	}
	h.SetStreamHandler(ProtocolEvidence, t.handleEvidence)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF:    func(_ network.Network, c network.Conn) { t.onConnected(c.RemotePeer()) },
		DisconnectedF: func(_ network.Network, c network.Conn) { t.onDisconnected(c.RemotePeer()) },
	})
	return t, nil
}

// Start dials the persistent and bootstrap peers and runs gossip, peer
// exchange and block sync until ctx ends or Close is called.
func (t *Transport) Start(ctx context.Context) error {
	if t.ctx.Err() != nil {
		return ErrClosed
	}
	if !t.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: already started", ErrConfig)
	}
	stop := context.AfterFunc(ctx, t.cancel)
	t.goRun(func() { <-t.ctx.Done(); stop() })
	for _, ai := range t.persistent {
		t.goRun(func() { t.keepDialing(ai) })
	}
	for _, ai := range t.bootstrap {
		t.goRun(func() { t.keepDialing(ai) })
	}
	t.goRun(t.runGossip)
	t.goRun(t.runRelay)
	t.goRun(t.runPex)
	t.goRun(t.runSync)
	t.log.Info("p2p started", "id", t.host.ID(), "addrs", t.host.Addrs())
	return nil
}

func (t *Transport) goRun(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

// Close stops the transport and its host.
func (t *Transport) Close() error {
	t.cancel()
	err := t.host.Close()
	t.wg.Wait()
	return err
}

// ID is this node's peer ID.
func (t *Transport) ID() peer.ID { return t.host.ID() }

// Addrs are the multiaddrs this node listens on, each with /p2p/<ID>.
func (t *Transport) Addrs() []string {
	var out []string
	for _, a := range t.host.Addrs() {
		out = append(out, FormatPeerMultiaddr(t.host.ID(), a))
	}
	return out
}

// Host exposes the libp2p host (for the node's diagnostics).
func (t *Transport) Host() host.Host { return t.host }

// Inbound delivers consensus messages and synced blocks from peers.
func (t *Transport) Inbound() <-chan msgs.Inbound { return t.inbound }

// Txs delivers transactions gossiped by peers, for the mempool, a frame
// at a time.
func (t *Transport) Txs() <-chan InboundTxs { return t.txs }

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	s := t.stats.snapshot()
	s.Peers = len(t.peers.ids())
	return s
}

// Peers lists the connected peers that speak consensus.
func (t *Transport) Peers() []peer.ID { return t.peers.ids() }

// ReportPeer lowers the score of a peer whose message failed validation;
// past the threshold it is disconnected and banned.
func (t *Transport) ReportPeer(id string, reason error) {
	p, err := peer.Decode(id)
	if err != nil {
		t.log.Warn("report of unknown peer", "peer", id, "err", err)
		return
	}
	t.penalize(p, t.cfg.ReportPenalty, reason)
	// The engine reports the peer that served a synced block it refused.
	t.distrustSync(p)
}

// deliver hands m to the engine, waiting while its queue is full.
func (t *Transport) deliver(m msgs.Inbound) {
	select {
	case t.inbound <- m:
	case <-t.ctx.Done():
	}
}

// keepDialing keeps a connection to ai, redialing with exponential
// backoff (1s to 1m, jittered) whenever it is down.
func (t *Transport) keepDialing(ai peer.AddrInfo) {
	const minBackoff, maxBackoff = time.Second, time.Minute
	backoff := minBackoff
	for {
		wait := backoff
		if t.host.Network().Connectedness(ai.ID) == network.Connected {
			backoff = minBackoff
			wait = minBackoff
		} else if !t.gater.isBanned(ai.ID) {
			ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
			err := t.host.Connect(ctx, ai)
			cancel()
			if err == nil {
				backoff = minBackoff
				wait = minBackoff
			} else {
				t.log.Debug("dial failed", "peer", ai.ID, "err", err, "retry_in", backoff)
				backoff = min(backoff*2, maxBackoff)
				wait = backoff/2 + time.Duration(time.Now().UnixNano()%int64(backoff/2))
			}
		}
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
