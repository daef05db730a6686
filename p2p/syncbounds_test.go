package p2p

import (
	"errors"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
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
