package p2p

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

// A peer that connects late at our height gets the proposal, block and
// votes we hold, without anyone broadcasting again.
func TestLatePeerCatchesUp(t *testing.T) {
	a := newTestNode(t, nil)
	b := newTestNode(t, nil)
	connect(t, b, a)
	a.SetStatus(msgs.Status{Height: 1})
	b.SetStatus(msgs.Status{Height: 1})
	block := makeBlock(1, [][]byte{bytes.Repeat([]byte("x"), 100_000)}, types.BlockID{}, nil)
	id, err := types.MakeBlockID(block)
	if err != nil {
		t.Fatal(err)
	}
	proposal := msgs.ProposalMsg{Proposal: &types.Proposal{Height: 1, POLRound: -1, BlockID: id, Timestamp: time.Unix(1, 0).UTC(), Signature: fakeSig("p")}, Block: block}
	a.Broadcast(proposal)
	for i := range 2 {
		a.Broadcast(msgs.VoteMsg{Vote: &types.Vote{Type: types.PrevoteType, Height: 1, BlockID: id, Timestamp: time.Unix(1, 0).UTC(), ValidatorAddress: testAddr(i), ValidatorIndex: int32(i), Signature: fakeSig(string(rune('a' + i)))}})
	}
	for range 4 { // the proposal's header, the proposal and two votes
		receive(t, b)
	}
	// The engine's rebroadcast sends nothing to a peer that has it all.
	partsSent := a.Stats().Sent[KindBlockPart].Frames
	a.Broadcast(proposal)
	waitTicks(t, 2, a)
	if got := a.Stats().Sent[KindBlockPart].Frames; got != partsSent {
		t.Fatalf("rebroadcast resent %d parts", got-partsSent)
	}

	c := newTestNode(t, nil)
	c.SetStatus(msgs.Status{Height: 1})
	connect(t, c, a)
	var proposals, votes int
	for proposals < 1 || votes < 2 {
		switch m := receive(t, c).Msg.(type) {
		case msgs.ProposalMsg:
			proposals++
			if m.Block.Hash() != block.Hash() {
				t.Fatal("late peer got an altered block")
			}
		case msgs.VoteMsg:
			votes++
		}
	}
	waitTicks(t, 3, a, b, c)
	select {
	case m := <-c.Inbound():
		t.Fatalf("late peer got an extra %T", m.Msg)
	default:
	}
}

// A persistent peer is redialed after the connection drops.
func TestPersistentPeerRedialed(t *testing.T) {
	a := newTestNode(t, nil)
	b := newTestNode(t, func(c *Config) { c.PersistentPeers = []string{a.Addrs()[0]} })
	waitFor(t, "first connection", func() bool { return hasPeer(a, b.ID()) && hasPeer(b, a.ID()) })
	if err := a.host.Network().ClosePeer(b.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "disconnect seen", func() bool { return !hasPeer(b, a.ID()) })
	waitFor(t, "redial", func() bool { return hasPeer(a, b.ID()) && hasPeer(b, a.ID()) })
}

// A peer on another chain is dropped on its first status.
func TestWrongChainPeerBanned(t *testing.T) {
	a := newTestNode(t, nil)
	h := newRawHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dialRaw(ctx, h, a); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, a.ID(), ProtocolConsensus)
	if err != nil {
		t.Fatal(err)
	}
	f, err := encodeFrame(&p2ppb.ConsensusMessage{Status: &p2ppb.Status{ChainID: "other-chain", Height: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(f); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ban", func() bool {
		return a.gater.isBanned(h.ID()) && !hasPeer(a, h.ID())
	})
}

// TCP is the only transport: a QUIC (or other non-TCP) listen or peer
// address is a config error that says what to use instead, and so is a
// listen address that cannot be bound.
func TestOnlyTCP(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := PeerIDFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"quic listen":     func(c *Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} },
		"ws listen":       func(c *Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0/ws"} },
		"quic persistent": func(c *Config) { c.PersistentPeers = []string{"/ip4/127.0.0.1/udp/1/quic-v1/p2p/" + id.String()} },
		"quic bootstrap":  func(c *Config) { c.BootstrapPeers = []string{"/ip4/127.0.0.1/udp/1/quic-v1/p2p/" + id.String()} },
	} {
		cfg := Config{ChainID: testChain, PrivKey: priv, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}}
		mod(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "use /ip4/HOST/tcp/PORT") {
			t.Errorf("%s: err = %v, want ErrConfig saying to use TCP", name, err)
		}
	}
	// 192.0.2.1 (TEST-NET-1) is not a local address: listening fails.
	unbindable := Config{ChainID: testChain, PrivKey: priv, ListenAddrs: []string{"/ip4/192.0.2.1/tcp/0"}}
	if _, err := New(unbindable); !errors.Is(err, ErrConfig) {
		t.Errorf("unbindable address: err = %v, want ErrConfig", err)
	}
}
