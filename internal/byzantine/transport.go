package byzantine

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// DirectSender is an optional capability of a Transport that the
// equivocate and doublevote modes use: sending one message straight to one
// peer, without the bookkeeping that (rightly) stops a transport from
// sending a peer two messages for the same (height, round, step).
// *p2p.Transport has it. Without it, conflicting messages are broadcast.
type DirectSender interface {
	// ConsensusPeers lists the connected peers' IDs in a stable order.
	ConsensusPeers() []string
	// SendDirect queues msg (an engine.ProposalMsg or engine.VoteMsg) for peer.
	SendDirect(peer string, msg any) bool
}

// byzTransport sends, next to each own message, the conflicting ones of its
// mode. The engine broadcasts only its own messages, so every engine.ProposalMsg
// and engine.VoteMsg it sees is this validator's.
type byzTransport struct {
	engine.Transport
	mode  Mode
	key   *Signer
	chain string
	log   *slog.Logger

	mu sync.Mutex
	// conflicts holds, by the original's signature, the messages made to
	// conflict with it, so a rebroadcast resends the same ones.
	conflicts map[string][]engine.Msg
	// equivocal maps, by (height, round), our proposal's block ID to the
	// other block's ID, for the votes that match it.
	equivocal map[hr]blockPair
	height    int64
	// coalition, if set, is shared with the other Byzantine validators of
	// a simulated network: each votes for both blocks of any member's
	// equivocation.
	coalition *Coalition
}

// Coalition lets Byzantine validators collude: every equivocation of a
// member is known to all, and each member votes for both of its blocks.
// It is safe for concurrent use.
type Coalition struct {
	mu    sync.Mutex
	pairs map[hr]blockPair
	// shownA holds, by equivocation, the peers shown its first block.
	shownA map[hr]map[string]bool
	// plans are the lock attackers' splits (lockattack.go).
	plans plans
}

// NewCoalition returns an empty coalition.
func NewCoalition() *Coalition {
	return &Coalition{pairs: map[hr]blockPair{}, shownA: map[hr]map[string]bool{}}
}

func (c *Coalition) add(k hr, p blockPair, shownA map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pairs[k] = p
	c.shownA[k] = shownA
}

// showsA says whether peer was shown the first block of the equivocation
// at k.
func (c *Coalition) showsA(k hr, peer string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shownA[k][peer]
}

// pairOf is the equivocation of a member at k; a nil coalition has none.
func (c *Coalition) pairOf(k hr) (blockPair, bool) {
	if c == nil {
		return blockPair{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pairs[k]
	return p, ok
}

type hr struct {
	height int64
	round  int32
}

type blockPair struct{ a, b types.BlockID }

func (t *byzTransport) Broadcast(msg engine.Msg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch m := msg.(type) {
	case engine.ProposalMsg:
		t.proposal(m)
	case engine.VoteMsg:
		if t.coalitionVote(m.Vote) {
			return
		}
		t.Transport.Broadcast(m)
		if t.mode != FutureTime { // its votes are its own, once each
			t.vote(m.Vote)
		}
	default:
		t.Transport.Broadcast(msg)
	}
}

// coalitionVote, for an equivocation of the coalition at v's height and
// round, sends each peer a vote for the block it was shown (v itself where
// v is for that block, else one signed with the raw key), as colluding
// validators do to split the correct ones; it reports whether it did.
func (t *byzTransport) coalitionVote(v *types.Vote) bool {
	if t.mode != Equivocate || v == nil {
		return false
	}
	k := hr{v.Height, v.Round}
	pair, ok := t.coalition.pairOf(k)
	ds, direct := t.Transport.(DirectSender)
	if !ok || !direct {
		return false
	}
	votes := map[types.BlockID]engine.Msg{}
	for _, id := range []types.BlockID{pair.a, pair.b} {
		c := *v
		if id != v.BlockID {
			c.BlockID = id
			c.Signature = t.key.sign(types.VoteSignBytes(t.chain, &c))
		}
		votes[id] = engine.VoteMsg{Vote: &c}
	}
	for _, peer := range ds.ConsensusPeers() {
		if t.coalition.showsA(k, peer) {
			ds.SendDirect(peer, votes[pair.a])
		} else {
			ds.SendDirect(peer, votes[pair.b])
		}
	}
	return true
}

// prune forgets what was made for heights before h-1.
func (t *byzTransport) prune(h int64) {
	if h <= t.height {
		return
	}
	t.height = h
	for k := range t.equivocal {
		if k.height < h-1 {
			delete(t.equivocal, k)
		}
	}
	if len(t.conflicts) > 1024 {
		clear(t.conflicts)
	}
}

// proposal sends our proposal to half of the peers and a second, different
// signed proposal to the others (in equivocate mode), or a future-dated
// one in its place (in futuretime mode).
func (t *byzTransport) proposal(m engine.ProposalMsg) {
	if t.mode == DoubleVote || m.Proposal == nil || m.Block == nil {
		t.Transport.Broadcast(m)
		return
	}
	change := equivocalBlock
	if t.mode == FutureTime {
		change = futureBlock
	}
	alt, fresh, err := t.altProposal(m, change)
	if err != nil {
		t.log.Error("byzantine: building the other proposal", "err", err)
		t.Transport.Broadcast(m)
		return
	}
	p := m.Proposal
	if t.mode == FutureTime {
		if fresh {
			t.log.Warn("byzantine: proposing a block dated in the future", "height", p.Height, "round", p.Round,
				"time", alt.Block.Header.Time, "block", alt.Proposal.BlockID)
		}
		t.Transport.Broadcast(alt)
		return
	}
	if fresh {
		if t.equivocal == nil {
			t.equivocal = map[hr]blockPair{}
		}
		t.equivocal[hr{p.Height, p.Round}] = blockPair{p.BlockID, alt.Proposal.BlockID}
		t.log.Warn("byzantine: equivocating", "height", p.Height, "round", p.Round, "a", p.BlockID, "b", alt.Proposal.BlockID)
	}
	ds, ok := t.Transport.(DirectSender)
	if !ok {
		t.Transport.Broadcast(m)
		t.Transport.Broadcast(alt)
		return
	}
	peers := ds.ConsensusPeers()
	half := (len(peers) + 1) / 2
	shownA := map[string]bool{}
	for i, peer := range peers {
		if i < half {
			shownA[peer] = true
			ds.SendDirect(peer, m)
		} else {
			ds.SendDirect(peer, alt)
		}
	}
	if fresh && t.coalition != nil {
		t.coalition.add(hr{p.Height, p.Round}, blockPair{p.BlockID, alt.Proposal.BlockID}, shownA)
	}
}

// altProposal is the proposal made from ours, m, by change: made once and
// kept by m's signature, so a rebroadcast resends the same one; fresh says
// it was made now.
func (t *byzTransport) altProposal(m engine.ProposalMsg, change func(*types.Block)) (alt engine.ProposalMsg, fresh bool, err error) {
	t.prune(m.Proposal.Height)
	if out, ok := t.cached(m.Proposal.Signature); ok {
		return out[0].(engine.ProposalMsg), false, nil
	}
	if alt, err = resigned(t.key, t.chain, m, change, m.Proposal.POLRound); err != nil {
		return engine.ProposalMsg{}, false, err
	}
	t.conflicts[string(m.Proposal.Signature)] = []engine.Msg{alt}
	return alt, true, nil
}

// futureBlock dates a block FutureTimeSkew later.
func futureBlock(b *types.Block) { b.Header.Time = b.Header.Time.Add(FutureTimeSkew) }

// equivocalBlock turns a block into another one a correct validator may
// still find valid: the same header with other txs (none instead of some,
// else one made-up kvstore-style "key=value" tx). Its time stays the BFT
// time, which correct validators check.
func equivocalBlock(b *types.Block) {
	if len(b.Data.Txs) > 0 {
		b.Data = types.Data{}
	} else {
		b.Data = types.Data{Txs: [][]byte{fmt.Appendf(nil, "bftnode-equivocation-%d=%X", b.Header.Height, b.Header.ProposerAddress[:6])}}
	}
	b.Header.DataHash = b.Data.Hash()
}

// resigned is m with its block changed by change, and the proposal
// renamed for it, given POL round polRound and signed with the raw key of
// key on chain.
func resigned(key *Signer, chain string, m engine.ProposalMsg, change func(*types.Block), polRound int32) (engine.ProposalMsg, error) {
	b := *m.Block
	change(&b)
	id, err := types.MakeBlockID(&b)
	if err != nil {
		return engine.ProposalMsg{}, err
	}
	p := *m.Proposal
	p.BlockID, p.POLRound = id, polRound
	p.Signature = key.sign(types.ProposalSignBytes(chain, &p))
	return engine.ProposalMsg{Proposal: &p, Block: &b}, nil
}

// vote sends the votes that conflict with our vote v.
func (t *byzTransport) vote(v *types.Vote) {
	if v == nil {
		return
	}
	t.prune(v.Height)
	out, ok := t.cached(v.Signature)
	if !ok {
		out = t.conflictingVotes(v)
		t.conflicts[string(v.Signature)] = out
	}
	ds, direct := t.Transport.(DirectSender)
	for _, m := range out {
		if !direct {
			t.Transport.Broadcast(m)
			continue
		}
		for _, p := range ds.ConsensusPeers() {
			ds.SendDirect(p, m)
		}
	}
}

// conflictingVotes signs, with the raw key, the votes that conflict with v
// in this mode: in doublevote mode one for nil (v is for a block) or for a
// made-up block (v is for nil); in equivocate mode one for the other block
// of the round we equivocated in, or, in a coalition, one for each block
// of a member's equivocation that v is not for.
func (t *byzTransport) conflictingVotes(v *types.Vote) []engine.Msg {
	var ids []types.BlockID
	switch t.mode {
	case DoubleVote:
		var id types.BlockID
		if v.BlockID.IsNil() {
			h := sha256.Sum256(append([]byte("bftnode/byzantine/"), types.VoteSignBytes(t.chain, v)...))
			id = types.BlockID{Hash: types.Hash(h), PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash(h)}}
		}
		ids = append(ids, id)
	case Equivocate:
		k := hr{v.Height, v.Round}
		if pair, ok := t.equivocal[k]; ok && v.BlockID == pair.a {
			ids = append(ids, pair.b)
		} else if pair, ok := t.coalition.pairOf(k); ok {
			for _, id := range []types.BlockID{pair.a, pair.b} {
				if id != v.BlockID {
					ids = append(ids, id)
				}
			}
		}
	}
	var out []engine.Msg
	for _, id := range ids {
		c := *v
		c.BlockID = id
		c.Signature = t.key.sign(types.VoteSignBytes(t.chain, &c))
		t.log.Warn("byzantine: double-voting", "height", v.Height, "round", v.Round, "type", v.Type, "a", v.BlockID, "b", id)
		out = append(out, engine.VoteMsg{Vote: &c})
	}
	return out
}

func (t *byzTransport) cached(sig []byte) ([]engine.Msg, bool) {
	out, ok := t.conflicts[string(sig)]
	return out, ok
}
