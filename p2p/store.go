package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// consensusGossip is consensus gossip's state, under its own lock (no
// other protocol takes it, and nothing is called with it held but
// non-blocking sends to peers' queues): our position, each connected
// peer's position and what it has (peerState's gossip fields), and the
// gossip store of proposals, their block parts, and votes. Block parts
// share it because each is checked against the proposal held for its
// round.
type consensusGossip struct {
	mu      sync.Mutex
	status  msgs.Status
	peers   map[peer.ID]*peerState
	heights map[int64]*heightData // next, current and catchUpHeights previous heights
}

// addPeer starts gossiping with ps, unless it was dropped meanwhile.
func (g *consensusGossip) addPeer(ps *peerState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ps.ctx.Err() == nil {
		g.peers[ps.id] = ps
	}
}

func (g *consensusGossip) removePeer(ps *peerState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.peers[ps.id] == ps {
		delete(g.peers, ps.id)
	}
}

type storedProposal struct {
	proposal   *types.Proposal
	frame      []byte
	parts      *partSet
	partFrames [][]byte // encoded lazily
	delivered  bool
	// verified: our own, or the engine accepted it (Transport.Relay).
	// Only a verified proposal and its parts are relayed or announced.
	verified bool
	// signed: the transport checked the proposer's signature itself
	// (Config.Validators), so parts that do not prove are the sender's
	// fault; relaying still waits for the engine.
	signed bool
	from   peer.ID // who sent us the proposal; empty for our own
	// When the proposal and each part arrived (zero for our own): gossip
	// relays them only after a gossip interval, giving the direct path
	// from their origin a head start, which avoids most duplicates.
	at     time.Time
	partAt []time.Time
}

type storedVote struct {
	vote     *types.Vote
	frame    []byte
	at       time.Time // arrival, zero for our own
	verified bool      // our own, or accepted by the engine: only then relayed
}

// heightData is what this node holds of one height, to serve peers that
// lack it: proposals by round with their parts, and votes.
type heightData struct {
	proposals map[int32]*storedProposal
	votes     map[voteKey]*storedVote
}

// voteAt is the vote held for k, if any; hd may be nil.
func (hd *heightData) voteAt(k voteKey) *storedVote {
	if hd == nil {
		return nil
	}
	return hd.votes[k]
}

// proposalAt is the proposal held for round r, if any; hd may be nil.
func (hd *heightData) proposalAt(r int32) *storedProposal {
	if hd == nil {
		return nil
	}
	return hd.proposals[r]
}

func (t *Transport) heightLocked(h int64) *heightData {
	hd := t.gossip.heights[h]
	if hd == nil {
		hd = &heightData{proposals: make(map[int32]*storedProposal), votes: make(map[voteKey]*storedVote)}
		t.gossip.heights[h] = hd
	}
	return hd
}

// inWindowLocked reports whether a peer's announcement (HasVote, HasPart,
// HasBlock) of height h is worth recording: the previous, current or next
// height, once the engine has told its position. A peer's proposals,
// parts and votes pass the stricter msgs.Status.Admits.
func (t *Transport) inWindowLocked(h int64) bool {
	our := t.gossip.status.Height
	return our > 0 && h >= our-1 && h <= our+1
}

// peerNearLocked reports whether ps may want messages of height h.
func peerNearLocked(ps *peerState, h int64) bool {
	return !ps.status.known || (ps.status.height >= h-1 && ps.status.height <= h+1)
}

func (sp *storedProposal) partFrame(i uint32) []byte {
	if sp.partFrames == nil {
		sp.partFrames = make([][]byte, len(sp.parts.parts))
	}
	if sp.partFrames[i] == nil {
		f, err := encodeFrame(&p2ppb.ConsensusMessage{BlockPart: &p2ppb.BlockPartMessage{
			Height: sp.proposal.Height, Round: sp.proposal.Round, Part: sp.parts.parts[i],
		}})
		if err != nil {
			return nil
		}
		sp.partFrames[i] = f
	}
	return sp.partFrames[i]
}
