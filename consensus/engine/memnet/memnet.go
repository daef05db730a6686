package memnet

import (
	"sync"
	"sync/atomic"

	"github.com/bftnode/bftnode/consensus/engine"
)

// InboxSize is the capacity of an endpoint's inbound queue; messages to a
// full inbox are dropped (and counted), as a lossy network would.
const InboxSize = 8192

// Report is a misbehaviour report an engine made about a peer.
type Report struct {
	Peer   string
	Reason error
}

// Network connects endpoints by ID.
type Network struct {
	mu        sync.Mutex
	peers     map[string]*Endpoint
	observers []func(from string, msg any)
	dropped   atomic.Int64
}

// New returns an empty network.
func New() *Network {
	return &Network{peers: map[string]*Endpoint{}}
}

// Observe registers f to see every message broadcast on the network,
// synchronously, before delivery. f must be safe for concurrent calls.
func (n *Network) Observe(f func(from string, msg any)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.observers = append(n.observers, f)
}

// Dropped is the number of messages dropped at full inboxes.
func (n *Network) Dropped() int64 { return n.dropped.Load() }

// Join connects a node with ID id, whose committed blocks src serves to
// peers that are behind. It replaces an earlier endpoint of the same ID
// (a node that restarted).
func (n *Network) Join(id string, src engine.BlockSource) *Endpoint {
	ep := &Endpoint{net: n, id: id, src: src, inbox: make(chan engine.Inbound, InboxSize)}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peers[id] = ep
	return ep
}

// Leave disconnects the node with ID id: messages to it are dropped until
// it joins again.
func (n *Network) Leave(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.peers, id)
}

func (n *Network) others(id string) []*Endpoint {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Endpoint, 0, len(n.peers))
	for pid, p := range n.peers {
		if pid != id {
			out = append(out, p)
		}
	}
	return out
}

// Endpoint is one node's connection to the network.
type Endpoint struct {
	net   *Network
	id    string
	src   engine.BlockSource
	inbox chan engine.Inbound

	mu      sync.Mutex
	status  engine.Status
	reports []Report
	relayed []engine.Msg
}

var _ engine.Transport = (*Endpoint)(nil)

func (ep *Endpoint) deliver(in engine.Inbound) {
	select {
	case ep.inbox <- in:
	default:
		ep.net.dropped.Add(1)
	}
}

// Broadcast delivers msg to every other connected endpoint.
func (ep *Endpoint) Broadcast(msg engine.Msg) {
	ep.net.mu.Lock()
	obs := ep.net.observers
	ep.net.mu.Unlock()
	for _, f := range obs {
		f(ep.id, msg)
	}
	for _, p := range ep.net.others(ep.id) {
		p.deliver(engine.Inbound{From: ep.id, Msg: msg})
	}
}

// Inbound delivers the messages peers sent to this endpoint.
func (ep *Endpoint) Inbound() <-chan engine.Inbound { return ep.inbox }

// SetStatus records the node's position and, when a peer has already
// committed the height the node is deciding, sends it that block with its
// commit.
func (ep *Endpoint) SetStatus(s engine.Status) {
	ep.mu.Lock()
	ep.status = s
	ep.mu.Unlock()
	for _, p := range ep.net.others(ep.id) {
		if p.src == nil || p.src.Height() < s.Height {
			continue
		}
		b, err := p.src.LoadBlock(s.Height)
		if err != nil {
			continue
		}
		msg := engine.CommitMsg{Block: b}
		if ec, err := p.src.LoadExtendedCommit(s.Height); err == nil {
			msg.Commit, msg.Extended = ec.Commit, ec
		} else if msg.Commit, err = p.src.LoadSeenCommit(s.Height); err != nil {
			continue
		}
		ep.deliver(engine.Inbound{From: p.id, Msg: msg})
		return
	}
}

// Status is the position the node last announced.
func (ep *Endpoint) Status() engine.Status {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.status
}

// ReportPeer records a misbehaviour report.
func (ep *Endpoint) ReportPeer(peer string, reason error) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.reports = append(ep.reports, Report{Peer: peer, Reason: reason})
}

// Reports returns the reports this endpoint's engine made.
func (ep *Endpoint) Reports() []Report {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]Report(nil), ep.reports...)
}

// Relay records a peer's message the engine verified. Every endpoint
// already hears every broadcast, so nothing is relayed.
func (ep *Endpoint) Relay(msg engine.Msg) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.relayed = append(ep.relayed, msg)
}

// Relayed returns the peers' messages the engine relayed as
// verified, in order.
func (ep *Endpoint) Relayed() []engine.Msg {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]engine.Msg(nil), ep.relayed...)
}
