package sim

import (
	"context"

	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/msgs"
)

// catchupBatch is how many decided heights a node sends a peer that is behind.
const catchupBatch = 8

// message is what travels on a simulated link: a consensus message, or
// (msg nil) a node's announcement of the height it is at.
type message struct {
	from   int
	msg    msgs.Msg
	status int64
}

// gossip is a node's volatile network state: where its engine is, the
// peers' verified messages it heard at this height (relayed when it
// stalls), when it last helped each peer, and which own messages the
// checker has seen leave.
type gossip struct {
	status, lastTick msgs.Status
	heard            []message
	helped           map[int]time.Duration
	checked          map[string]bool
}

func newGossip() gossip {
	return gossip{helped: map[int]time.Duration{}, checked: map[string]bool{}}
}

// hear keeps a peer's verified message of this height for relaying.
func (g *gossip) hear(m msgs.Msg) { g.heard = append(g.heard, message{msg: m}) }

// receive is a message arriving from the network.
func (n *node) receive(m message) {
	if !n.up {
		return
	}
	n.w.stats.Delivered++
	if m.msg == nil {
		if m.status < n.gossip.status.Height {
			n.help(m.from, m.status)
		}
		return
	}
	n.step(StepDeliver, m.from, func(ctx context.Context) error {
		return n.eng.Deliver(ctx, msgs.Inbound{From: peerID(m.from), Msg: m.msg})
	})
}

// announce tells every peer the height this node is at, so that peers
// ahead of it send it the blocks it lacks.
func (n *node) announce() {
	for to := range n.w.nodes {
		n.w.send(n.idx, to, message{status: n.gossip.status.Height})
	}
}

// startTicker makes the node, whenever its position has not moved for a
// gossip interval, relay what it heard at this height and announce its
// height again: gossip's promise, after GST, that a message one correct
// node received reaches every correct node (the locking rules rely on it).
// The engine itself re-sends its own messages (Config.RebroadcastInterval).
func (n *node) startTicker() {
	var tick func()
	tick = func() {
		g := &n.gossip
		if g.status == g.lastTick {
			n.w.stats.Retransmits++
			for _, m := range g.heard {
				for to := range n.w.nodes {
					n.w.send(n.idx, to, m)
				}
			}
			n.announce()
		}
		g.lastTick = g.status
		n.later(gossipInterval, tick)
	}
	n.later(n.w.randDur(gossipInterval/2, gossipInterval), tick)
}

// help sends a peer at height h the decided blocks and commits from h on,
// at most once per gossip interval.
func (n *node) help(peer int, h int64) {
	if at, ok := n.gossip.helped[peer]; ok && n.w.sched.now-at < gossipInterval {
		return
	}
	n.gossip.helped[peer] = n.w.sched.now
	for hh := h; hh < h+catchupBatch && hh <= n.store.Height(); hh++ {
		b, err := n.store.LoadBlock(hh)
		if err != nil {
			return
		}
		c, err := n.store.LoadBlockCommit(hh)
		if err != nil {
			if c, err = n.store.LoadSeenCommit(hh); err != nil {
				return
			}
		}
		n.w.send(n.idx, peer, message{msg: engine.CommitMsg{Block: b, Commit: c}})
	}
}
