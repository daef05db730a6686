package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// Bounds on what peers can make this node hold per height.
const (
	maxHasEntries         = 1 << 16 // per peer, height and kind
	maxProposalsPerHeight = 64
	// catchUpHeights: the decided heights whose proposals, parts and
	// votes are kept to send peers still deciding them.
	catchUpHeights = 4
)

var (
	errWrongChain = errors.New("p2p: peer on another chain")
	errEnvelope   = errors.New("p2p: envelope must hold exactly one message")
	errOutOfRange = errors.New("p2p: field out of range")
)

// Broadcast sends our ProposalMsg (as a proposal and block parts) or
// VoteMsg to every peer not known to have it.
func (t *Transport) Broadcast(msg msgs.Msg) {
	switch m := msg.(type) {
	case msgs.ProposalMsg:
		t.broadcastProposal(m)
	case *msgs.ProposalMsg:
		t.broadcastProposal(*m)
	case msgs.VoteMsg:
		t.broadcastVote(m.Vote)
	case *msgs.VoteMsg:
		t.broadcastVote(m.Vote)
	default:
		t.log.Error("broadcast of unsupported message", "type", fmt.Sprintf("%T", msg))
	}
}

func (t *Transport) broadcastProposal(m msgs.ProposalMsg) {
	if m.Proposal == nil || m.Block == nil {
		t.log.Error("broadcast of incomplete proposal")
		return
	}
	t.gossip.mu.Lock()
	if sp := t.gossip.heights[m.Proposal.Height]; sp != nil {
		if old := sp.proposals[m.Proposal.Round]; old != nil && old.parts.complete() &&
			sameProposal(old.proposal, m.Proposal) {
			// A rebroadcast: peers get only what they lack.
			old.verified = true // ours, even if a peer sent it back first
			for _, p := range t.gossip.peers {
				if peerNearLocked(p, m.Proposal.Height) {
					t.sendProposalLocked(p, old, time.Time{})
				}
			}
			t.gossip.mu.Unlock()
			return
		}
	}
	t.gossip.mu.Unlock()
	ps, err := partSetFromBlock(m.Block, m.Proposal.BlockID.PartSetHeader)
	if err != nil {
		t.log.Error("broadcast proposal", "height", m.Proposal.Height, "round", m.Proposal.Round, "err", err)
		return
	}
	frame, err := encodeFrame(&p2ppb.ConsensusMessage{Proposal: &p2ppb.ProposalMessage{Proposal: m.Proposal.ToProto()}})
	if err != nil {
		t.log.Error("broadcast proposal", "err", err)
		return
	}
	t.gossip.mu.Lock()
	defer t.gossip.mu.Unlock()
	sp := &storedProposal{proposal: m.Proposal, frame: frame, parts: ps, delivered: true, verified: true}
	t.heightLocked(m.Proposal.Height).proposals[m.Proposal.Round] = sp
	for _, p := range t.gossip.peers {
		if peerNearLocked(p, m.Proposal.Height) {
			t.sendProposalLocked(p, sp, time.Time{})
		}
	}
}

func (t *Transport) broadcastVote(v *types.Vote) {
	if v == nil {
		return
	}
	frame, err := encodeFrame(&p2ppb.ConsensusMessage{Vote: &p2ppb.VoteMessage{Vote: v.ToProto()}})
	if err != nil {
		t.log.Error("broadcast vote", "err", err)
		return
	}
	k := voteKey{v.Height, v.Round, v.Type, v.ValidatorIndex}
	t.gossip.mu.Lock()
	defer t.gossip.mu.Unlock()
	sv := &storedVote{vote: v, frame: frame, verified: true}
	t.heightLocked(v.Height).votes[k] = sv
	for _, p := range t.gossip.peers {
		if peerNearLocked(p, v.Height) {
			t.sendVoteLocked(p, k, sv, time.Time{})
		}
	}
}

// SetStatus records our position, prunes what peers can no longer need
// and tells every peer.
func (t *Transport) SetStatus(st msgs.Status) {
	if t.cfg.Validators != nil && t.vsets.height() != st.Height {
		t.vsets.set(t.loadSets(st.Height))
	}
	f := t.statusFrame(st)
	t.gossip.mu.Lock()
	t.gossip.status = st
	for h := range t.gossip.heights {
		if h < st.Height-catchUpHeights {
			delete(t.gossip.heights, h)
		}
	}
	if f != nil {
		for _, ps := range t.gossip.peers {
			t.enqueue(ps, KindStatus, f)
		}
	}
	t.gossip.mu.Unlock()
	t.syncView.setHeight(st.Height)
	t.wakeSync()
}

// statusFrame is the status frame telling peers our position (our) and
// the blocks our store holds (read from it, so with no lock held).
func (t *Transport) statusFrame(our msgs.Status) []byte {
	st := &p2ppb.Status{ChainID: t.cfg.ChainID, Height: our.Height, Round: our.Round, Step: uint32(our.Step)}
	if t.cfg.Source != nil {
		st.StoreBase, st.StoreHeight = t.cfg.Source.Base(), t.cfg.Source.Height()
	}
	f, err := encodeFrame(&p2ppb.ConsensusMessage{Status: st})
	if err != nil {
		return nil
	}
	return f
}

// handleConsensusFrame decodes and checks one frame from ps and acts on it.
// A returned error is the peer's fault.
func (t *Transport) handleConsensusFrame(ps *peerState, payload []byte, n int) error {
	var m p2ppb.ConsensusMessage
	if err := decodeFrame(payload, &m); err != nil {
		return err
	}
	set := 0
	for _, f := range []bool{m.Status != nil, m.Proposal != nil, m.BlockPart != nil, m.Vote != nil, m.HasVote != nil, m.HasBlock != nil, m.HasPart != nil} {
		if f {
			set++
		}
	}
	if set != 1 {
		return errEnvelope
	}
	limited := func(kind, limit int) error {
		t.stats.recv(kind, n)
		if n > limit {
			return fmt.Errorf("%w: %s frame of %d bytes", ErrFrameTooLarge, KindName(kind), n)
		}
		return nil
	}
	small := func(kind int) error { return limited(kind, maxSmallFrame) }
	switch {
	case m.Status != nil:
		if err := small(KindStatus); err != nil {
			return err
		}
		return t.onStatus(ps, m.Status)
	case m.HasVote != nil:
		if err := small(KindHasVote); err != nil {
			return err
		}
		hv := m.HasVote
		t.gossip.mu.Lock()
		if t.inWindowLocked(hv.Height) && len(ps.hasAt(hv.Height).votes) < maxHasEntries {
			ps.hasAt(hv.Height).votes[voteKey{hv.Height, hv.Round, types.SignedMsgType(hv.Type), hv.Index}] = struct{}{}
		}
		t.gossip.mu.Unlock()
		return nil
	case m.HasBlock != nil:
		if err := small(KindHasBlock); err != nil {
			return err
		}
		t.gossip.mu.Lock()
		if t.inWindowLocked(m.HasBlock.Height) && len(ps.hasAt(m.HasBlock.Height).blocks) < maxHasEntries {
			ps.hasAt(m.HasBlock.Height).blocks[m.HasBlock.Round] = true
		}
		t.gossip.mu.Unlock()
		return nil
	case m.HasPart != nil:
		if err := small(KindHasPart); err != nil {
			return err
		}
		hp := m.HasPart
		t.gossip.mu.Lock()
		if t.inWindowLocked(hp.Height) && len(ps.hasAt(hp.Height).parts) < maxHasEntries {
			ps.hasAt(hp.Height).parts[partKey{hp.Round, hp.Index}] = struct{}{}
		}
		t.gossip.mu.Unlock()
		return nil
	case m.Proposal != nil:
		if err := small(KindProposal); err != nil {
			return err
		}
		return t.onProposal(ps, m.Proposal)
	case m.Vote != nil:
		if err := limited(KindVote, maxVoteFrame); err != nil {
			return err
		}
		return t.onVote(ps, m.Vote)
	default:
		t.stats.recv(KindBlockPart, n)
		if n > maxPartFrame {
			return fmt.Errorf("%w: part frame of %d bytes", ErrFrameTooLarge, n)
		}
		return t.onPart(ps, m.BlockPart)
	}
}

func (t *Transport) onStatus(ps *peerState, st *p2ppb.Status) error {
	if st.ChainID != t.cfg.ChainID {
		return fmt.Errorf("%w: %q", errWrongChain, st.ChainID)
	}
	if st.Height < 0 || st.Round < 0 || st.Step > 255 || st.StoreBase < 0 || st.StoreHeight < st.StoreBase {
		return fmt.Errorf("%w: status %d/%d/%d store %d..%d", errOutOfRange, st.Height, st.Round, st.Step, st.StoreBase, st.StoreHeight)
	}
	t.gossip.mu.Lock()
	moved := st.Height != ps.status.height
	ps.status = peerStatus{known: true, height: st.Height, round: st.Round, step: uint8(st.Step)}
	for h := range ps.has {
		if h < st.Height-1 {
			delete(ps.has, h)
		}
	}
	if moved && st.Height < t.gossip.status.Height {
		// A peer catching up on a height we decided: send it what we hold
		// of it now, not at the next gossip round, so that it finishes
		// the height through gossip faster than the network moves on.
		t.sendHeightLocked(ps, st.Height, time.Time{})
	}
	t.gossip.mu.Unlock()
	if t.syncView.setPeer(ps, st.StoreBase, st.StoreHeight) {
		t.wakeSync()
	}
	return nil
}

func (t *Transport) onProposal(ps *peerState, pm *p2ppb.ProposalMessage) error {
	if pm.Proposal == nil {
		return errEnvelope
	}
	prop, err := types.ProposalFromProto(pm.Proposal)
	if err != nil {
		return fmt.Errorf("%w: proposal: %w", ErrBadFrame, err)
	}
	psh := prop.BlockID.PartSetHeader
	if prop.Height <= 0 || prop.Round < 0 || psh.Total == 0 || psh.Total > t.cfg.maxParts() || prop.BlockID.Hash.IsZero() {
		return fmt.Errorf("%w: proposal %d/%d with %d parts", errOutOfRange, prop.Height, prop.Round, psh.Total)
	}
	t.gossip.mu.Lock()
	if !t.gossip.status.Admits(prop.Height, prop.Round) {
		t.gossip.mu.Unlock()
		return nil // outside the window: not held, not the engine's concern
	}
	if sp := t.gossip.heights[prop.Height].proposalAt(prop.Round); sp != nil && sameProposal(sp.proposal, prop) {
		t.gossip.mu.Unlock()
		t.stats.dupProposals.Add(1)
		return nil
	}
	t.gossip.mu.Unlock()
	vals := t.vsets.at(prop.Height)
	if vals != nil {
		// Checked outside the lock; the window bounds the round, and with
		// it the cost of finding its proposer.
		if err := types.VerifyProposal(t.cfg.ChainID, vals.ProposerForRound(prop.Round), prop); err != nil {
			return fmt.Errorf("%w: proposal %d/%d: %w", ErrBadProposal, prop.Height, prop.Round, err)
		}
	}
	t.gossip.mu.Lock()
	if !t.gossip.status.Admits(prop.Height, prop.Round) {
		t.gossip.mu.Unlock()
		return nil // the node moved on meanwhile
	}
	hd := t.heightLocked(prop.Height)
	if len(hd.proposals) >= maxProposalsPerHeight && hd.proposals[prop.Round] == nil {
		t.gossip.mu.Unlock()
		return nil
	}
	has := ps.hasAt(prop.Height)
	has.proposals[prop.Round] = true
	header := msgs.Inbound{From: ps.id.String(), Msg: msgs.ProposalHeaderMsg{Proposal: prop}}
	if sp := hd.proposals[prop.Round]; sp != nil {
		same, verified := sameProposal(sp.proposal, prop), sp.verified || sp.signed
		if same {
			t.stats.dupProposals.Add(1)
		} else {
			has.conflicts[prop.Round] = true
		}
		t.gossip.mu.Unlock()
		if !same && !verified {
			// The one we hold may be a forgery: the engine checks this
			// one too, and its relay replaces ours if it verifies.
			t.deliver(header)
		}
		return nil // a duplicate, or a conflicting one we do not store
	}
	frame, err := encodeFrame(&p2ppb.ConsensusMessage{Proposal: pm})
	if err != nil {
		t.gossip.mu.Unlock()
		return nil
	}
	hd.proposals[prop.Round] = &storedProposal{proposal: prop, frame: frame, parts: newPartSet(psh), at: time.Now(), partAt: make([]time.Time, psh.Total), from: ps.id, signed: vals != nil}
	t.gossip.mu.Unlock()
	// Unverified until the engine accepts it: only then are it and its
	// parts relayed, while its parts keep arriving.
	t.deliver(header)
	return nil
}

// sameProposal reports whether a and b are the same signed proposal.
func sameProposal(a, b *types.Proposal) bool {
	return a.BlockID == b.BlockID && bytes.Equal(a.Signature, b.Signature)
}

func (t *Transport) onPart(ps *peerState, bp *p2ppb.BlockPartMessage) error {
	if bp.Part == nil || bp.Height <= 0 || bp.Round < 0 {
		return fmt.Errorf("%w: block part", errOutOfRange)
	}
	t.gossip.mu.Lock()
	hd := t.gossip.heights[bp.Height]
	var sp *storedProposal
	if hd != nil {
		sp = hd.proposals[bp.Round]
	}
	if sp == nil || !t.gossip.status.Admits(bp.Height, bp.Round) {
		t.gossip.mu.Unlock()
		return nil // no proposal yet: a later gossip round resends
	}
	added, err := sp.parts.add(bp.Part)
	if err != nil {
		// Only a part that fails against a proposal the engine verified,
		// and that the peer did not contradict, is the peer's fault:
		// ours may be a forgery the peer never saw.
		blame := (sp.verified || sp.signed) && !ps.hasAt(bp.Height).conflicts[bp.Round]
		t.gossip.mu.Unlock()
		if !blame {
			t.log.Debug("block part does not fit the proposal held", "peer", ps.id, "height", bp.Height, "round", bp.Round, "err", err)
			return nil
		}
		return err
	}
	if has := ps.hasAt(bp.Height); len(has.parts) < maxHasEntries {
		has.parts[partKey{bp.Round, bp.Part.Index}] = struct{}{}
	}
	if !added {
		t.stats.dupParts.Add(1)
	} else if sp.partAt != nil {
		sp.partAt[bp.Part.Index] = time.Now()
	}
	if added && sp.verified {
		hp, _ := encodeFrame(&p2ppb.ConsensusMessage{HasPart: &p2ppb.HasPart{Height: bp.Height, Round: bp.Round, Index: bp.Part.Index}})
		for _, other := range t.gossip.peers {
			oh := other.hasAt(bp.Height)
			if _, ok := oh.parts[partKey{bp.Round, bp.Part.Index}]; other != ps && !ok && !oh.blocks[bp.Round] && peerNearLocked(other, bp.Height) {
				t.enqueue(other, KindHasPart, hp)
			}
		}
	}
	if !sp.parts.complete() || sp.delivered {
		t.gossip.mu.Unlock()
		return nil
	}
	sp.delivered = true
	prop := sp.proposal
	block, err := sp.parts.block()
	if err == nil {
		err = t.checkBlock(block, prop.Height)
	}
	if err == nil && block.Hash() != prop.BlockID.Hash {
		err = fmt.Errorf("%w: block hash does not match the proposal", ErrBadPart)
	}
	if err != nil {
		// The parts prove into the signed part set header, so the
		// proposer, not the relaying peer, made this block.
		delete(hd.proposals, bp.Round)
		t.gossip.mu.Unlock()
		t.log.Warn("proposed block invalid", "height", prop.Height, "round", prop.Round, "err", err)
		return nil
	}
	if sp.verified {
		t.announceBlockLocked(sp, ps)
	}
	// Blame for a bad proposal goes to whoever sent it, not to the peer
	// that happened to send its last part.
	from := ps.id
	if sp.from != "" {
		from = sp.from
	}
	t.gossip.mu.Unlock()
	t.deliver(msgs.Inbound{From: from.String(), Msg: msgs.ProposalMsg{Proposal: prop, Block: block}})
	return nil
}

// checkBlock checks what the transport can check of a block: its chain,
// height and internal hashes.
func (t *Transport) checkBlock(b *types.Block, height int64) error {
	if b.Header.ChainID != t.cfg.ChainID {
		return fmt.Errorf("%w: block of chain %q", errWrongChain, b.Header.ChainID)
	}
	if b.Header.Height != height {
		return fmt.Errorf("%w: block height %d, want %d", errOutOfRange, b.Header.Height, height)
	}
	return b.ValidateBasic()
}

func (t *Transport) onVote(ps *peerState, vm *p2ppb.VoteMessage) error {
	if vm.Vote == nil {
		return errEnvelope
	}
	v, err := types.VoteFromProto(vm.Vote)
	if err != nil {
		return fmt.Errorf("%w: vote: %w", ErrBadFrame, err)
	}
	if (v.Type != types.PrevoteType && v.Type != types.PrecommitType) || v.Height <= 0 || v.Round < 0 || v.ValidatorIndex < 0 || len(v.Signature) == 0 {
		return fmt.Errorf("%w: vote %v %d/%d index %d", errOutOfRange, v.Type, v.Height, v.Round, v.ValidatorIndex)
	}
	if len(v.Extension) > types.MaxVoteExtensionSize {
		return fmt.Errorf("%w: vote extension of %d bytes, limit %d", errOutOfRange, len(v.Extension), types.MaxVoteExtensionSize)
	}
	k := voteKey{v.Height, v.Round, v.Type, v.ValidatorIndex}
	t.gossip.mu.Lock()
	if !t.gossip.status.Admits(v.Height, v.Round) {
		t.gossip.mu.Unlock()
		return nil // outside the window: not held, not the engine's concern
	}
	if size := t.gossip.status.SetSize(v.Height); int(v.ValidatorIndex) >= size {
		t.gossip.mu.Unlock()
		return fmt.Errorf("%w: vote of validator %d in a set of %d", errOutOfRange, v.ValidatorIndex, size)
	}
	if sv := t.gossip.heights[v.Height].voteAt(k); sv != nil && sameVote(sv.vote, v) {
		t.gossip.mu.Unlock()
		t.stats.dupVotes.Add(1)
		return nil
	}
	t.gossip.mu.Unlock()
	vals := t.vsets.at(v.Height)
	if vals != nil {
		// Checked outside the lock, before the engine's queue: a flood of
		// forgeries costs its sender here, one by one.
		if err := types.VerifyVote(t.cfg.ChainID, vals, v); err != nil {
			return fmt.Errorf("%w: %w", ErrBadVote, err)
		}
		if len(v.ExtensionSignature) > 0 {
			if err := types.VerifyExtension(t.cfg.ChainID, vals, v); err != nil {
				return fmt.Errorf("%w: %w", ErrBadVote, err)
			}
		}
	}
	t.gossip.mu.Lock()
	if !t.gossip.status.Admits(v.Height, v.Round) {
		t.gossip.mu.Unlock()
		return nil // the node moved on meanwhile
	}
	if has := ps.hasAt(v.Height); len(has.votes) < maxHasEntries {
		has.votes[k] = struct{}{}
	}
	hd := t.heightLocked(v.Height)
	if sv := hd.votes[k]; sv != nil {
		same := sameVote(sv.vote, v)
		t.gossip.mu.Unlock()
		if same {
			t.stats.dupVotes.Add(1)
			return nil
		}
		// A conflicting vote: the engine decides (evidence or forgery).
		t.deliver(msgs.Inbound{From: ps.id.String(), Msg: msgs.VoteMsg{Vote: v}})
		return nil
	}
	frame, err := encodeFrame(&p2ppb.ConsensusMessage{Vote: vm})
	if err != nil {
		t.gossip.mu.Unlock()
		return nil
	}
	// Unverified: relayed and announced (HasVote) only once the engine
	// accepts it.
	hd.votes[k] = &storedVote{vote: v, frame: frame, at: time.Now()}
	t.gossip.mu.Unlock()
	t.deliver(msgs.Inbound{From: ps.id.String(), Msg: msgs.VoteMsg{Vote: v}})
	return nil
}
