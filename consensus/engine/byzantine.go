package engine

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// This file holds the test-only Byzantine modes. A correct node never uses
// them: Deps.Byzantine is nil and nothing here runs. A Byzantine node is a
// correct engine with two decorators: one around the Transport (it adds
// conflicting messages, signed with the raw key, next to the ones the
// guarded Signer signed, or in their place) and, for amnesia, one around
// the core. The normal
// signing path is never changed: the first message of every (height, round,
// step) still goes through the Signer and its double-sign guard.

// ByzantineMode names a misbehaviour for fault tests.
type ByzantineMode string

// The Byzantine modes.
const (
	// ByzantineNone is a correct node.
	ByzantineNone ByzantineMode = ""
	// ByzantineEquivocate: as proposer, sign two different blocks for the
	// round, send one to half of the peers and the other to the rest, and
	// vote for both.
	ByzantineEquivocate ByzantineMode = "equivocate"
	// ByzantineDoubleVote: next to each own prevote and precommit, sign and
	// send a conflicting one (nil for a block, a made-up block for nil).
	ByzantineDoubleVote ByzantineMode = "doublevote"
	// ByzantineAmnesia: the core forgets its lock and valid value before
	// every step.
	ByzantineAmnesia ByzantineMode = "amnesia"
	// ByzantineFutureTime: as proposer, send in place of its block the same
	// block dated FutureTimeSkew after its BFT time (the proposer's own
	// clock has no say in it), which correct validators must refuse.
	ByzantineFutureTime ByzantineMode = "futuretime"
)

// FutureTimeSkew is how far ahead a ByzantineFutureTime proposer dates its
// blocks.
const FutureTimeSkew = time.Hour

// ByzantineModes lists the modes ParseByzantineMode accepts (besides "").
var byzantineModes = []ByzantineMode{ByzantineEquivocate, ByzantineDoubleVote, ByzantineAmnesia, ByzantineFutureTime}

// ErrByzantineMode means an unknown Byzantine mode name.
var ErrByzantineMode = errors.New("engine: unknown byzantine mode")

// ParseByzantineMode parses a mode name; "" is ByzantineNone.
func ParseByzantineMode(s string) (ByzantineMode, error) {
	if s == "" {
		return ByzantineNone, nil
	}
	if m := ByzantineMode(s); slices.Contains(byzantineModes, m) {
		return m, nil
	}
	return ByzantineNone, fmt.Errorf("%w: %q (want one of %v)", ErrByzantineMode, s, byzantineModes)
}

// Byzantine turns an engine into a misbehaving validator, for fault tests
// only. Key is the validator's raw private key (the Signer's): conflicting
// messages are signed with it directly, deliberately bypassing the Signer's
// double-sign guard.
type Byzantine struct {
	Mode ByzantineMode
	Key  ed25519.PrivateKey
}

// DirectSender is an optional capability of a Transport that the
// equivocate and doublevote modes use: sending one message straight to one
// peer, without the bookkeeping that (rightly) stops a transport from
// sending a peer two messages for the same (height, round, step).
// *p2p.Transport has it. Without it, conflicting messages are broadcast.
type DirectSender interface {
	// ConsensusPeers lists the connected peers' IDs in a stable order.
	ConsensusPeers() []string
	// SendDirect queues msg (ProposalMsg or VoteMsg) for peer.
	SendDirect(peer string, msg any) bool
}

// install applies b to a freshly built engine: the decorators of its mode.
func (b *Byzantine) install(e *Engine) error {
	switch b.Mode {
	case ByzantineNone:
		return nil
	case ByzantineAmnesia:
		e.core = amnesicCore{e.core.(*consensus.State)}
	case ByzantineEquivocate, ByzantineDoubleVote, ByzantineFutureTime:
		if len(b.Key) != ed25519.PrivateKeySize || !bytes.Equal(b.Key.Public().(ed25519.PublicKey), e.d.Signer.PubKey()) {
			return fmt.Errorf("%w: byzantine key does not match the signer", ErrConfig)
		}
		e.d.Transport = &byzTransport{Transport: e.d.Transport, mode: b.Mode, key: b.Key, chain: e.chain, log: e.log,
			conflicts: map[string][]Msg{}}
	default:
		return fmt.Errorf("%w: %w: %q", ErrConfig, ErrByzantineMode, b.Mode)
	}
	e.log.Warn("BYZANTINE TEST MODE: this validator misbehaves on purpose", "mode", b.Mode)
	return nil
}

// core is the consensus state machine as the engine drives it:
// *consensus.State, or the amnesic decorator.
type core interface {
	Step(consensus.Event) ([]consensus.Action, error)
	RoundState() consensus.RoundState
}

// amnesicCore forgets its lock and valid value before every step.
type amnesicCore struct{ *consensus.State }

func (c amnesicCore) Step(ev consensus.Event) ([]consensus.Action, error) {
	c.ForgetLocks()
	return c.State.Step(ev)
}

// byzTransport sends, next to each own message, the conflicting ones of its
// mode. The engine broadcasts only its own messages, so every ProposalMsg
// and VoteMsg it sees is this validator's.
type byzTransport struct {
	Transport
	mode  ByzantineMode
	key   ed25519.PrivateKey
	chain string
	log   *slog.Logger

	mu sync.Mutex
	// conflicts holds, by the original's signature, the messages made to
	// conflict with it, so a rebroadcast resends the same ones.
	conflicts map[string][]Msg
	// equivocal maps, by (height, round), our proposal's block ID to the
	// other block's ID, for the votes that match it.
	equivocal map[hr]blockPair
	height    int64
}

type hr struct {
	height int64
	round  int32
}

type blockPair struct{ a, b types.BlockID }

func (t *byzTransport) Broadcast(msg Msg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch m := msg.(type) {
	case ProposalMsg:
		t.proposal(m)
	case VoteMsg:
		t.Transport.Broadcast(m)
		if t.mode != ByzantineFutureTime { // its votes are its own, once each
			t.vote(m.Vote)
		}
	default:
		t.Transport.Broadcast(msg)
	}
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
func (t *byzTransport) proposal(m ProposalMsg) {
	if t.mode == ByzantineDoubleVote || m.Proposal == nil || m.Block == nil {
		t.Transport.Broadcast(m)
		return
	}
	change := equivocalBlock
	if t.mode == ByzantineFutureTime {
		change = futureBlock
	}
	alt, fresh, err := t.altProposal(m, change)
	if err != nil {
		t.log.Error("byzantine: building the other proposal", "err", err)
		t.Transport.Broadcast(m)
		return
	}
	p := m.Proposal
	if t.mode == ByzantineFutureTime {
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
	for i, peer := range peers {
		if i < half {
			ds.SendDirect(peer, m)
		} else {
			ds.SendDirect(peer, alt)
		}
	}
}

// altProposal is the proposal made from ours, m, by change: made once and
// kept by m's signature, so a rebroadcast resends the same one; fresh says
// it was made now.
func (t *byzTransport) altProposal(m ProposalMsg, change func(*types.Block)) (alt ProposalMsg, fresh bool, err error) {
	t.prune(m.Proposal.Height)
	if out, ok := t.cached(m.Proposal.Signature); ok {
		return out[0].(ProposalMsg), false, nil
	}
	if alt, err = t.resigned(m, change); err != nil {
		return ProposalMsg{}, false, err
	}
	t.conflicts[string(m.Proposal.Signature)] = []Msg{alt}
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
// renamed for it and signed with the raw key.
func (t *byzTransport) resigned(m ProposalMsg, change func(*types.Block)) (ProposalMsg, error) {
	b := *m.Block
	change(&b)
	id, err := types.MakeBlockID(&b)
	if err != nil {
		return ProposalMsg{}, err
	}
	p := *m.Proposal
	p.BlockID = id
	p.Signature = ed25519.Sign(t.key, types.ProposalSignBytes(t.chain, &p))
	return ProposalMsg{Proposal: &p, Block: &b}, nil
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
// of the round we equivocated in.
func (t *byzTransport) conflictingVotes(v *types.Vote) []Msg {
	var id types.BlockID
	switch t.mode {
	case ByzantineDoubleVote:
		if v.BlockID.IsNil() {
			h := sha256.Sum256(append([]byte("bftnode/byzantine/"), types.VoteSignBytes(t.chain, v)...))
			id = types.BlockID{Hash: types.Hash(h), PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash(h)}}
		}
	case ByzantineEquivocate:
		pair, ok := t.equivocal[hr{v.Height, v.Round}]
		if !ok || v.BlockID != pair.a {
			return nil
		}
		id = pair.b
	}
	c := *v
	c.BlockID = id
	c.Signature = ed25519.Sign(t.key, types.VoteSignBytes(t.chain, &c))
	t.log.Warn("byzantine: double-voting", "height", v.Height, "round", v.Round, "type", v.Type, "a", v.BlockID, "b", id)
	return []Msg{VoteMsg{Vote: &c}}
}

func (t *byzTransport) cached(sig []byte) ([]Msg, bool) {
	out, ok := t.conflicts[string(sig)]
	return out, ok
}
