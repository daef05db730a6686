package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/libp2p/go-libp2p/core/network"
)

// A peer serving blocks whose commits its validators did not sign pays for
// each, and the blocks whose validator set is known (the height being
// decided and the next) never reach the engine. Issue 16 ("bogus
// block-sync responses"): such blocks went to the engine unchecked, and
// only the first of each run cost their sender anything.
func TestBlockSyncRefusesForgedCommits(t *testing.T) {
	fv := newFakeValidators(t, 4)
	forger := newTestNode(t, func(c *Config) { c.Source = newFakeSource(t, 50) }) // commits signed by nobody in fv
	forger.SetStatus(msgs.Status{Height: 51})
	victim := newTestNode(t, func(c *Config) { c.Validators = fv; c.Source = &fakeSource{} })
	connect(t, victim, forger)
	victim.SetStatus(msgs.Status{Height: 1, Validators: 4, NextValidators: 4})
	waitFor(t, "the forger banned", func() bool { return victim.gater.isBanned(forger.ID()) })
	for {
		select {
		case m := <-victim.Inbound():
			if cm, ok := m.Msg.(msgs.CommitMsg); ok && cm.Block.Header.Height <= 2 {
				t.Fatalf("a block of height %d with a forged commit reached the engine", cm.Block.Header.Height)
			}
		default:
			return
		}
	}
}

// Block sync holds a bounded number of bytes of fetched blocks while the
// engine does not apply them: maxSyncAhead delivered blocks, maxSyncBytes
// pending or being read, and one block per request past that. Before,
// it read 128 heights ahead of the engine whatever their size, and
// delivered them all into the engine's queue.
func TestBlockSyncBoundsTheBytesItHolds(t *testing.T) {
	const blocks, txBytes = 200, 256 << 10
	server := newTestNode(t, func(c *Config) { c.Source = fakeSourceOf(t, blocks, txBytes, "fat") })
	server.SetStatus(msgs.Status{Height: blocks + 1})
	victim := newTestNode(t, func(c *Config) { c.Source = &fakeSource{} })
	connect(t, victim, server)
	victim.SetStatus(msgs.Status{Height: 1}) // the engine never applies a block
	waitFor(t, "the first blocks delivered", func() bool { return len(victim.Inbound()) > 0 })
	// Read until the victim stops reading (it holds what it may), or it
	// has read everything.
	read := func() uint64 { return victim.Stats().Received[KindBlockSync].Bytes }
	last, still := read(), 0
	waitForUpTo(t, 2*time.Minute, "block sync to stop reading", func() bool {
		time.Sleep(500 * time.Millisecond) // the pace of the poll, not a wait for an event
		now := read()
		if now == last {
			still++
		} else {
			last, still = now, 0
		}
		return still >= 6 || now >= blocks*txBytes
	})
	block := uint64(txBytes + 4<<10) // a block's frame, with room for its header and commit
	bound := maxSyncAhead*block + maxSyncBytes + uint64(victim.cfg.SyncParallel)*block
	if got := read(); got > bound {
		t.Fatalf("block sync read %d MiB of blocks the engine did not apply, bound %d MiB", got>>20, bound>>20)
	}
	if got := len(victim.Inbound()); got > maxSyncAhead {
		t.Fatalf("%d blocks delivered past the engine's height, bound %d", got, maxSyncAhead)
	}
}

// When the engine refuses a synced block and reports the peer that served
// it, block sync drops that peer's blocks, delivers few others behind the
// refused one, and fetches the height again, from another peer once the
// reported one is banned. Before, it went on delivering every block
// after the refused one (the engine dropping them all) and fetched the
// height again only after syncStall.
func TestBlockSyncRefetchesWhatTheEngineRefused(t *testing.T) {
	const n = 100
	good := fakeSourceOf(t, n, 1024, "good")
	honest := newTestNode(t, func(c *Config) { c.Source = good })
	bad := newTestNode(t, func(c *Config) { c.Source = fakeSourceOf(t, n, 1024, "bad") })
	honest.SetStatus(msgs.Status{Height: n + 1})
	bad.SetStatus(msgs.Status{Height: n + 1})
	victim := newTestNode(t, func(c *Config) { c.Source = &fakeSource{} })
	connect(t, victim, bad)
	victim.SetStatus(msgs.Status{Height: 1})
	first := receive(t, victim)
	if first.From != bad.ID().String() {
		t.Fatalf("first block from %s, want the only peer", first.From)
	}
	connect(t, victim, honest)
	waitFor(t, "both peers' status", func() bool { peers, _, _ := victim.syncPeers(); return len(peers) == 2 })
	stale, reports := 0, 0
	our := int64(1)
	m := first
	for our <= n {
		cm, ok := m.Msg.(msgs.CommitMsg)
		if !ok {
			t.Fatalf("got %T, want CommitMsg", m.Msg)
		}
		want, _ := good.LoadBlock(our)
		switch {
		case cm.Block.Header.Height != our:
			stale++ // the engine drops it: not the height it decides
		case cm.Block.Hash() != want.Hash():
			reports++
			victim.ReportPeer(m.From, errors.New("test: refused block")) // as the engine does
		default:
			our++
			victim.SetStatus(msgs.Status{Height: our})
		}
		if our <= n {
			m = receive(t, victim)
		}
	}
	t.Logf("%d stale deliveries, %d reports", stale, reports)
	if reports == 0 || reports > 2 {
		t.Fatalf("%d blocks refused, want 1 or 2 (two reports ban)", reports)
	}
	if bound := reports * maxSyncAhead; stale > bound {
		t.Fatalf("%d blocks delivered behind refused ones, bound %d", stale, bound)
	}
}

// A peer that advertises blocks and answers block requests with blocks
// of other heights or with frames that do not decode, or that writes
// block responses nobody asked for, is banned: the rogue peer's "bogus
// block-sync responses" (issue 16).
func TestBogusBlockSyncAnswersBanTheirSender(t *testing.T) {
	src := newFakeSource(t, 200)
	answer := func(h int64) []byte { // a block of another height
		b, _ := src.LoadBlock(h + 7)
		c, _ := src.LoadSeenCommit(h + 7)
		f, _ := encodeFrame(&p2ppb.BlockResponse{Height: h + 7, Block: b.ToProto(), Commit: c.ToProto()})
		return f
	}
	garbage := func(int64) []byte { return append(binary.AppendUvarint(nil, 8), 0xff, 1, 2, 3, 4, 5, 6, 7) }
	for _, tc := range []struct {
		name   string
		answer func(h int64) []byte
	}{{"other heights", answer}, {"garbage", garbage}} {
		t.Run(tc.name, func(t *testing.T) {
			victim := newTestNode(t, nil)
			victim.SetStatus(msgs.Status{Height: 1})
			rogue := newRawHost(t)
			rogue.SetStreamHandler(ProtocolBlockSync, func(s network.Stream) {
				defer s.Close()
				payload, _, err := readFrame(bufio.NewReader(s), 1<<10)
				var req p2ppb.BlockRequest
				if err != nil || decodeFrame(payload, &req) != nil {
					return
				}
				for h := req.FromHeight; h <= req.ToHeight; h++ {
					if _, err := s.Write(tc.answer(h)); err != nil {
						return
					}
				}
			})
			sendFrom(t, rogue, victim, &p2ppb.ConsensusMessage{Status: &p2ppb.Status{ChainID: testChain, Height: 101, StoreBase: 1, StoreHeight: 100}})
			waitFor(t, "the rogue banned", func() bool { return victim.gater.isBanned(rogue.ID()) })
		})
	}
	t.Run("unsolicited", func(t *testing.T) {
		victim := newTestNode(t, nil)
		rogue := newRawHost(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dialRaw(ctx, rogue, victim); err != nil {
			t.Fatal(err)
		}
		s, err := rogue.NewStream(ctx, victim.ID(), ProtocolBlockSync)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Write(answer(1)) // the victim may reset the stream before it is all written
		waitFor(t, "the rogue banned", func() bool { return victim.gater.isBanned(rogue.ID()) })
	})
}
