package p2p

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// rawSend connects a bare host to tr and writes msgs on a consensus
// stream, as a Byzantine peer that is not running our transport would.
func rawSend(t *testing.T, tr *Transport, msgs ...*p2ppb.ConsensusMessage) host.Host {
	t.Helper()
	return sendFrom(t, newRawHost(t), tr, msgs...)
}

// sendFrom connects h to tr and writes msgs on a consensus stream.
func sendFrom(t *testing.T, h host.Host, tr *Transport, msgs ...*p2ppb.ConsensusMessage) host.Host {
	t.Helper()
	if err := writeConsensus(t, h, tr, msgs); err != nil {
		t.Fatal(err)
	}
	return h
}

// writeConsensus connects h to tr and writes msgs on a consensus stream,
// returning the first write error (tr reset the stream, as a ban does).
func writeConsensus(t *testing.T, h host.Host, tr *Transport, msgs []*p2ppb.ConsensusMessage) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dialRaw(ctx, h, tr); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, tr.ID(), ProtocolConsensus)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		f, err := encodeFrame(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(f); err != nil {
			return err
		}
	}
	return nil
}

func voteFrame(v *types.Vote) *p2ppb.ConsensusMessage {
	return &p2ppb.ConsensusMessage{Vote: &p2ppb.VoteMessage{Vote: v.ToProto()}}
}

func propFrame(p *types.Proposal) *p2ppb.ConsensusMessage {
	return &p2ppb.ConsensusMessage{Proposal: &p2ppb.ProposalMessage{Proposal: p.ToProto()}}
}

// heldVote returns the signature of the vote tr holds for k, and whether
// it is verified (relayable).
func heldVote(tr *Transport, k voteKey) ([]byte, bool) {
	tr.gossip.mu.Lock()
	defer tr.gossip.mu.Unlock()
	if hd := tr.gossip.heights[k.height]; hd != nil && hd.votes[k] != nil {
		return hd.votes[k].vote.Signature, hd.votes[k].verified
	}
	return nil, false
}

func scoreOf(tr *Transport, p peer.ID) int {
	tr.scores.mu.Lock()
	defer tr.scores.mu.Unlock()
	return tr.scores.m[p].points
}

// indexOf returns the index in the validator set of validator i (the
// set is sorted, not in key order).
func (tv *testValidators) indexOf(i int) int32 {
	idx, v := tv.genesis.Validators.ByAddress(types.NewValidator(tv.keys[i].Public().(ed25519.PublicKey), 1).Address)
	if v == nil {
		tv.t.Fatalf("validator %d not in the set", i)
	}
	return idx
}

// TestOnlyVerifiedMessagesAreRelayed runs two real engines A and B of four
// validators (too few to commit, so both stay at height 1) and makes bare
// Byzantine peers send A forged messages. A must not relay them, so B
// never reports (or bans) A, while A bans the senders; a valid vote from a
// bare peer is relayed to B.
func TestOnlyVerifiedMessagesAreRelayed(t *testing.T) {
	tv := newTestValidators(t, 4)
	tv.start(0)
	tv.start(1)
	a, b := tv.transports[0], tv.transports[1]
	waitFor(t, "both engines at height 1, connected", func() bool {
		a.gossip.mu.Lock()
		defer a.gossip.mu.Unlock()
		ps := a.gossip.peers[b.ID()]
		return a.gossip.status.Height == 1 && ps != nil && ps.status.known && ps.status.height == 1
	})
	// The absent validator 2's vote, which only the bare peers send.
	idx := tv.indexOf(2)
	k := voteKey{1, 0, types.PrevoteType, idx}
	val := tv.genesis.Validators.ByIndex(idx)
	vote := func(sign ed25519.PrivateKey, typ types.SignedMsgType) *types.Vote {
		v := &types.Vote{Type: typ, Height: 1, Round: 0, Timestamp: time.Unix(1_767_225_700, 0).UTC(), ValidatorAddress: val.Address, ValidatorIndex: idx}
		v.Signature = ed25519.Sign(sign, types.VoteSignBytes(testChain, v))
		return v
	}
	_, stranger, _ := ed25519.GenerateKey(nil)

	t.Run("forged votes", func(t *testing.T) {
		bad := vote(tv.keys[2], types.PrevoteType)
		bad.Signature = bytes.Repeat([]byte{7}, ed25519.SignatureSize)                                            // a bad signature
		nonVal := &types.Vote{Type: types.PrecommitType, Height: 1, Timestamp: time.Unix(1_767_225_700, 0).UTC(), // by a non-validator
			ValidatorAddress: types.AddressOf(stranger.Public().(ed25519.PublicKey)), ValidatorIndex: 3} // an index in the set, not its address
		nonVal.Signature = ed25519.Sign(stranger, types.VoteSignBytes(testChain, nonVal))
		raw := rawSend(t, a, voteFrame(bad), voteFrame(nonVal))
		waitFor(t, "A bans the forger", func() bool { return a.gater.isBanned(raw.ID()) })
		for _, v := range []*types.Vote{bad, nonVal} {
			sig, verified := heldVote(a, voteKey{v.Height, v.Round, v.Type, v.ValidatorIndex})
			if bytes.Equal(sig, v.Signature) && verified {
				t.Fatalf("A holds the forged %v as verified", v.Type)
			}
		}
		waitTicks(t, 5, a, b) // relays would have gone out by now
		for _, v := range []*types.Vote{bad, nonVal} {
			if sig, _ := heldVote(b, voteKey{v.Height, v.Round, v.Type, v.ValidatorIndex}); sig != nil {
				t.Fatalf("B received the forged %v", v.Type)
			}
		}
	})

	t.Run("forged proposal", func(t *testing.T) {
		a.gossip.mu.Lock()
		round := a.gossip.status.Round + 3
		a.gossip.mu.Unlock()
		block := makeBlock(1, [][]byte{bytes.Repeat([]byte("f"), 100_000)}, types.BlockID{}, nil)
		id, err := types.MakeBlockID(block)
		if err != nil {
			t.Fatal(err)
		}
		prop := &types.Proposal{Height: 1, Round: round, POLRound: -1, BlockID: id, Timestamp: time.Unix(1_767_225_700, 0).UTC()}
		prop.Signature = ed25519.Sign(stranger, types.ProposalSignBytes(testChain, prop))
		parts, err := partSetFromBlock(block, id.PartSetHeader)
		if err != nil {
			t.Fatal(err)
		}
		msgs := []*p2ppb.ConsensusMessage{{Proposal: &p2ppb.ProposalMessage{Proposal: prop.ToProto()}}}
		for _, p := range parts.parts {
			msgs = append(msgs, &p2ppb.ConsensusMessage{BlockPart: &p2ppb.BlockPartMessage{Height: 1, Round: round, Part: p}})
		}
		raw := rawSend(t, a, msgs...)
		waitFor(t, "A bans the forger", func() bool { return a.gater.isBanned(raw.ID()) })
		waitTicks(t, 5, a, b)
		b.gossip.mu.Lock()
		defer b.gossip.mu.Unlock()
		if hd := b.gossip.heights[1]; hd != nil && hd.proposals[round] != nil && sameProposal(hd.proposals[round].proposal, prop) {
			t.Fatal("B received the forged proposal")
		}
	})

	t.Run("valid vote", func(t *testing.T) {
		good := vote(tv.keys[2], types.PrevoteType)
		raw := rawSend(t, a, voteFrame(good))
		waitForUpTo(t, 5*time.Second, "A accepts", func() bool {
			sig, ok := heldVote(a, k)
			return bytes.Equal(sig, good.Signature) && ok
		})
		waitFor(t, "B receives the valid vote through A", func() bool {
			sig, _ := heldVote(b, k)
			return bytes.Equal(sig, good.Signature)
		})
		if scoreOf(a, raw.ID()) != 0 || a.gater.isBanned(raw.ID()) {
			t.Fatal("A penalised the sender of a valid vote")
		}
	})

	// Through all of it, the honest relayer kept its standing with B.
	if s := scoreOf(b, a.ID()); s != 0 || b.gater.isBanned(a.ID()) || b.Stats().Bans != 0 {
		t.Fatalf("B penalised A: score %d, bans %d", s, b.Stats().Bans)
	}
	if got := a.Stats().Bans; got != 2 {
		t.Fatalf("A banned %d peers, want the 2 forgers", got)
	}
}

// An honest peer whose proposal conflicts with a forgery we hold is not
// blamed for its parts, and a forged proposal whose block an honest peer
// completes is blamed on its sender.
func TestRelayerNotBlamedForForgedProposal(t *testing.T) {
	a := newTestNode(t, nil)
	b := newTestNode(t, nil)
	connect(t, b, a)
	a.SetStatus(msgs.Status{Height: 1})
	b.SetStatus(msgs.Status{Height: 1})
	waitFor(t, "peers", func() bool { return hasPeer(a, b.ID()) && hasPeer(b, a.ID()) })
	block := makeBlock(1, [][]byte{bytes.Repeat([]byte("g"), 150_000)}, types.BlockID{}, nil)
	id, err := types.MakeBlockID(block)
	if err != nil {
		t.Fatal(err)
	}
	other := makeBlock(1, [][]byte{[]byte("other")}, types.BlockID{}, nil)
	otherID, err := types.MakeBlockID(other)
	if err != nil {
		t.Fatal(err)
	}
	proposal := func(round int32, id types.BlockID, sig string) *types.Proposal {
		return &types.Proposal{Height: 1, Round: round, POLRound: -1, BlockID: id, Timestamp: time.Unix(1, 0).UTC(), Signature: fakeSig(sig)}
	}
	expect := func(from peer.ID, sig []byte, header bool) msgs.Inbound {
		t.Helper()
		m := receive(t, a)
		var p *types.Proposal
		switch msg := m.Msg.(type) {
		case msgs.ProposalHeaderMsg:
			if header {
				p = msg.Proposal
			}
		case msgs.ProposalMsg:
			if !header {
				p = msg.Proposal
			}
		}
		if p == nil || !bytes.Equal(p.Signature, sig) || m.From != from.String() {
			t.Fatalf("got %T from %s, want proposal %q (header %v) from %s", m.Msg, m.From, sig[:8], header, from)
		}
		return m
	}

	// Round 0: a forgery for another block arrives first.
	forged := proposal(0, otherID, "forged0")
	raw := rawSend(t, a, propFrame(forged))
	expect(raw.ID(), forged.Signature, true)
	parts := a.Stats().Received[KindBlockPart].Frames
	genuine := proposal(0, id, "genuine0")
	b.Broadcast(msgs.ProposalMsg{Proposal: genuine, Block: block})
	hdr := expect(b.ID(), genuine.Signature, true) // ours may be forged: the engine checks b's
	waitFor(t, "b's parts", func() bool {
		return a.Stats().Received[KindBlockPart].Frames >= parts+uint64(id.PartSetHeader.Total)
	})
	if s := scoreOf(a, b.ID()); s != 0 || a.Stats().BadFrames != 0 {
		t.Fatalf("a penalised b (score %d) for parts of a proposal it did not hold", s)
	}
	// The engine verified b's proposal: it replaces the forgery.
	a.Relay(hdr.Msg)
	waitFor(t, "the relayed proposal to replace the forgery", func() bool {
		a.gossip.mu.Lock()
		defer a.gossip.mu.Unlock()
		sp := a.gossip.heights[1].proposals[0]
		return sameProposal(sp.proposal, genuine) && sp.verified
	})

	// Round 1: a forgery of the same block (bad signature); b's parts
	// complete it, and the block is delivered as from the forger.
	forged = proposal(1, id, "forged1")
	rawSend(t, a, propFrame(forged)) // a second raw peer
	m := receive(t, a)
	if _, ok := m.Msg.(msgs.ProposalHeaderMsg); !ok {
		t.Fatalf("got %T, want the forged header", m.Msg)
	}
	forger := mustDecode(t, m.From)
	genuine = proposal(1, id, "genuine1")
	b.Broadcast(msgs.ProposalMsg{Proposal: genuine, Block: block})
	expect(b.ID(), genuine.Signature, true)
	expect(forger, forged.Signature, false)
}

// A genuine precommit whose vote extension a peer replaced is refused
// where the validator set is known (the extension signature is checked
// with the vote's), and costs its sender; the genuine copy is then taken,
// not dropped as a repeat of the forgery.
func TestForgedVoteExtensionRefused(t *testing.T) {
	tv := newTestValidators(t, 4)
	tv.knownSets = true
	tv.genesis.ConsensusParams.VoteExtensionsEnableHeight = 1
	tv.start(0)
	a := tv.transports[0]
	waitFor(t, "the engine at height 1, its validator set known", func() bool {
		a.gossip.mu.Lock()
		h := a.gossip.status.Height
		a.gossip.mu.Unlock()
		return h == 1 && a.vsets.at(1) != nil
	})
	idx := tv.indexOf(2)
	id := types.BlockID{Hash: types.Hash{1}, PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash{2}}}
	v := &types.Vote{Type: types.PrecommitType, Height: 1, BlockID: id, Timestamp: time.Unix(1_767_225_700, 0).UTC(),
		ValidatorAddress: tv.genesis.Validators.ByIndex(idx).Address, ValidatorIndex: idx, Extension: []byte("genuine")}
	v.Signature = ed25519.Sign(tv.keys[2], types.VoteSignBytes(testChain, v))
	v.ExtensionSignature = ed25519.Sign(tv.keys[2], types.VoteExtensionSignBytes(testChain, v))
	forged := *v
	forged.Extension = []byte("forged")
	raw := rawSend(t, a, voteFrame(&forged))
	waitFor(t, "the forger penalised", func() bool { return scoreOf(a, raw.ID()) > 0 })
	k := voteKey{1, 0, types.PrecommitType, idx}
	if sig, _ := heldVote(a, k); sig != nil {
		t.Fatal("the transport holds the precommit with the forged extension")
	}
	honest := rawSend(t, a, voteFrame(v))
	waitFor(t, "the genuine precommit held and verified by the engine", func() bool {
		sig, verified := heldVote(a, k)
		return bytes.Equal(sig, v.Signature) && verified
	})
	if scoreOf(a, honest.ID()) != 0 {
		t.Fatal("the sender of the genuine precommit was penalised")
	}
}

func TestSameVoteComparesExtensions(t *testing.T) {
	v := &types.Vote{Signature: []byte{1}, Extension: []byte("x"), ExtensionSignature: []byte{2}}
	for name, tc := range map[string]struct {
		w    types.Vote
		same bool
	}{
		"identical":            {*v, true},
		"extension stripped":   {types.Vote{Signature: []byte{1}}, false},
		"extension replaced":   {types.Vote{Signature: []byte{1}, Extension: []byte("y"), ExtensionSignature: []byte{2}}, false},
		"other vote signature": {types.Vote{Signature: []byte{3}, Extension: []byte("x"), ExtensionSignature: []byte{2}}, false},
	} {
		if got := sameVote(v, &tc.w); got != tc.same {
			t.Errorf("%s: sameVote = %v, want %v", name, got, tc.same)
		}
	}
}
