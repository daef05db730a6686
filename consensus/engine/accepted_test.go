package engine_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// signatureOf returns the signature of an accepted message.
func signatureOf(msg any) []byte {
	switch m := msg.(type) {
	case engine.VoteMsg:
		return m.Vote.Signature
	case engine.ProposalHeaderMsg:
		return m.Proposal.Signature
	case engine.ProposalMsg:
		return m.Proposal.Signature
	}
	return nil
}

// The engine tells the transport which peers' messages it verified
// (Transport.Accepted), so that only those are relayed: forged votes and
// proposal headers are reported and never accepted, valid ones from any
// peer are.
func TestOnlyVerifiedMessagesAreAccepted(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 31)
		c.memStore = true
		// Half the power: both stay at height 1, so every message below is
		// checked on arrival.
		c.start(c.nodes[0])
		c.start(c.nodes[1])
		nd, other := c.nodes[0], c.nodes[1]
		accepted := func(sig []byte) bool {
			for _, m := range nd.ep.Relayed() {
				if bytes.Equal(signatureOf(m), sig) {
					return true
				}
			}
			return false
		}
		await(t, 30*time.Second, "a vote of the other running validator accepted", func() bool {
			for _, m := range nd.ep.Relayed() {
				if v, ok := m.(engine.VoteMsg); ok && v.Vote.ValidatorAddress == types.AddressOf(other.priv.Public().(ed25519.PublicKey)) {
					return true
				}
			}
			return false
		})

		absent := c.nodes[2].priv
		idx, val := c.genesis.Validators.ByAddress(types.AddressOf(absent.Public().(ed25519.PublicKey)))
		if val == nil {
			t.Fatal("absent validator not in the set")
		}
		vote := &types.Vote{Type: types.PrevoteType, Height: 1, Round: 0, Timestamp: time.Unix(1_767_225_700, 0).UTC(), ValidatorAddress: val.Address, ValidatorIndex: idx}
		forgedVote := *vote
		forgedVote.Signature = bytes.Repeat([]byte{7}, ed25519.SignatureSize)
		vote.Signature = ed25519.Sign(absent, types.VoteSignBytes(testChain, vote))

		// A proposal by the absent validator for a round it proposes.
		var round int32
		for c.genesis.Validators.ProposerForRound(round).Address != val.Address {
			round++
		}
		block := &types.Block{Header: types.Header{ChainID: testChain, Height: 1}}
		id, err := types.MakeBlockID(block)
		if err != nil {
			t.Fatal(err)
		}
		prop := &types.Proposal{Height: 1, Round: round, POLRound: -1, BlockID: id, Timestamp: time.Unix(1_767_225_700, 0).UTC()}
		forgedProp := *prop
		forgedProp.Signature = ed25519.Sign(c.nodes[3].priv, types.ProposalSignBytes(testChain, prop)) // not the proposer
		prop.Signature = ed25519.Sign(absent, types.ProposalSignBytes(testChain, prop))

		spoof := c.net.Join("spoofer", nil)
		before := len(nd.ep.Reports())
		spoof.Broadcast(engine.VoteMsg{Vote: &forgedVote})
		spoof.Broadcast(engine.ProposalHeaderMsg{Proposal: &forgedProp})
		spoof.Broadcast(engine.VoteMsg{Vote: vote})
		spoof.Broadcast(engine.ProposalHeaderMsg{Proposal: prop})
		await(t, 30*time.Second, "the valid vote and proposal header accepted", func() bool {
			return accepted(vote.Signature) && accepted(prop.Signature)
		})
		// Messages are handled in order: the forgeries were checked first.
		var reports int
		for _, r := range nd.ep.Reports()[before:] {
			if r.Peer == "spoofer" {
				reports++
			}
		}
		if reports != 2 {
			t.Fatalf("%d reports of the spoofer, want 2 (forged vote and proposal)", reports)
		}
		if accepted(forgedVote.Signature) || accepted(forgedProp.Signature) {
			t.Fatal("a forged message was accepted")
		}
	})
}

// A validator's correctly signed vote for a round far beyond the admission
// window (msgs.Status.Admits) is dropped before its signature is checked:
// not relayed, not reported (an honest peer may be ahead), and it does not
// hold up the messages behind it.
func TestFarFutureRoundVoteIsNotRelayed(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 32)
		c.memStore = true
		c.start(c.nodes[0])
		c.start(c.nodes[1])
		nd := c.nodes[0]
		absent := c.nodes[2].priv
		idx, val := c.genesis.Validators.ByAddress(types.AddressOf(absent.Public().(ed25519.PublicKey)))
		if val == nil {
			t.Fatal("absent validator not in the set")
		}
		sign := func(round int32) *types.Vote {
			v := &types.Vote{Type: types.PrecommitType, Height: 1, Round: round, Timestamp: time.Unix(1_767_225_700, 0).UTC(), ValidatorAddress: val.Address, ValidatorIndex: idx}
			v.Signature = ed25519.Sign(absent, types.VoteSignBytes(testChain, v))
			return v
		}
		far, near := sign(1<<20), sign(0)
		spoof := c.net.Join("spoofer", nil)
		before := len(nd.ep.Reports())
		spoof.Broadcast(engine.VoteMsg{Vote: far})
		spoof.Broadcast(engine.VoteMsg{Vote: near})
		relayed := func(sig []byte) bool {
			for _, m := range nd.ep.Relayed() {
				if bytes.Equal(signatureOf(m), sig) {
					return true
				}
			}
			return false
		}
		await(t, 30*time.Second, "the round-0 vote relayed", func() bool { return relayed(near.Signature) })
		if relayed(far.Signature) {
			t.Fatalf("a vote for round %d was relayed", far.Round)
		}
		for _, r := range nd.ep.Reports()[before:] {
			if r.Peer == "spoofer" {
				t.Fatalf("the sender of a far-future vote was reported: %v", r.Reason)
			}
		}
	})
}

// A forged proposal header for the next height is kept until the node
// reaches that height, then checked and its sender reported (finding 4 of
// issue 16: such headers were ignored, so an unsigned proposal squatting
// the transport's slot for that round cost its sender nothing and the
// genuine one could not replace it).
func TestForgedNextHeightProposalHeaderIsReported(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 33)
		c.memStore = true
		c.startAll()
		c.awaitHeight(2, 30*time.Second)
		nd := c.nodes[0]
		h := nd.height() + 2 // the store's height + 1 is the one being decided
		block := &types.Block{Header: types.Header{ChainID: testChain, Height: h}}
		id, err := types.MakeBlockID(block)
		if err != nil {
			t.Fatal(err)
		}
		forged := &types.Proposal{Height: h, Round: 0, POLRound: -1, BlockID: id, Timestamp: time.Unix(1_767_225_700, 0).UTC(),
			Signature: bytes.Repeat([]byte{9}, ed25519.SignatureSize)}
		spoof := c.net.Join("spoofer", nil)
		before := len(nd.ep.Reports())
		spoof.Broadcast(engine.ProposalHeaderMsg{Proposal: forged})
		await(t, 30*time.Second, "the forged next-height proposal header reported", func() bool {
			for _, r := range nd.ep.Reports()[before:] {
				if r.Peer == "spoofer" {
					return true
				}
			}
			return false
		})
	})
}
