package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

func TestBlockSyncFromTwoPeersInOrder(t *testing.T) {
	const n = 200
	src := newFakeSource(t, n)
	s1 := newTestNode(t, func(c *Config) { c.Source = src })
	s2 := newTestNode(t, func(c *Config) { c.Source = src })
	s1.SetStatus(msgs.Status{Height: n + 1})
	s2.SetStatus(msgs.Status{Height: n + 1})
	empty := &fakeSource{}
	syncer := newTestNode(t, func(c *Config) {
		c.Source = empty
		c.Logger = testLogger(t, slog.LevelInfo)
	})
	connect(t, syncer, s1)
	connect(t, syncer, s2)
	waitFor(t, "both peers' status", func() bool {
		peers, top, _ := syncer.syncPeers()
		return len(peers) == 2 && top == n
	})
	// Sync starts once the engine says where it is.
	start := time.Now()
	syncer.SetStatus(msgs.Status{Height: 1})
	for h := int64(1); h <= n; h++ {
		m := receive(t, syncer)
		cm, ok := m.Msg.(msgs.CommitMsg)
		if !ok {
			t.Fatalf("height %d: got %T, want CommitMsg", h, m.Msg)
		}
		if cm.Block.Header.Height != h || cm.Commit.Height != h {
			t.Fatalf("got block %d commit %d, want %d in order", cm.Block.Header.Height, cm.Commit.Height, h)
		}
		want, _ := src.LoadBlock(h)
		if cm.Block.Hash() != want.Hash() || cm.Commit.BlockID.Hash != want.Hash() {
			t.Fatalf("height %d: block or commit altered", h)
		}
		if m.From != s1.ID().String() && m.From != s2.ID().String() {
			t.Fatalf("height %d from unknown peer %s", h, m.From)
		}
		syncer.SetStatus(msgs.Status{Height: h + 1}) // as the engine does after applying
	}
	elapsed := time.Since(start)
	served1 := s1.Stats().Sent[KindBlockSync].Frames
	served2 := s2.Stats().Sent[KindBlockSync].Frames
	if served1 == 0 || served2 == 0 || served1+served2 < n {
		t.Fatalf("served %d and %d frames, want both peers to serve %d blocks", served1, served2, n)
	}
	t.Logf("synced %d blocks in %v: %.0f heights/s (peer 1 served %d, peer 2 %d)", n, elapsed, float64(n)/elapsed.Seconds(), served1, served2)
	if got := syncer.Stats().SyncedBlocks; got != n {
		t.Fatalf("SyncedBlocks = %d, want %d", got, n)
	}
}

// Heights with vote extensions are served with the seen commit's
// extensions (ext_commit), which the syncing node hands the engine with the
// commit; the others with the plain commit.
func TestBlockSyncCarriesExtendedCommits(t *testing.T) {
	const n, from = 6, 3
	src := newFakeSource(t, n)
	src.extended = map[int64]*types.ExtendedCommit{}
	for h := int64(from); h <= n; h++ {
		c := src.commits[h-1]
		src.extended[h] = &types.ExtendedCommit{Commit: c, Extensions: []types.ExtensionSig{{Extension: []byte{byte(h)}, Signature: fakeSig(fmt.Sprint("x", h))}}}
	}
	server := newTestNode(t, func(c *Config) { c.Source = src })
	server.SetStatus(msgs.Status{Height: n + 1})
	syncer := newTestNode(t, func(c *Config) { c.Source = &fakeSource{} })
	connect(t, syncer, server)
	waitFor(t, "the server's status", func() bool {
		_, top, _ := syncer.syncPeers()
		return top == n
	})
	syncer.SetStatus(msgs.Status{Height: 1})
	for h := int64(1); h <= n; h++ {
		cm, ok := receive(t, syncer).Msg.(msgs.CommitMsg)
		if !ok || cm.Commit.Height != h {
			t.Fatalf("height %d: got %+v", h, cm)
		}
		switch {
		case h < from && cm.Extended != nil:
			t.Fatalf("height %d: an extended commit where the server has none", h)
		case h >= from && (cm.Extended == nil || cm.Extended.Commit != cm.Commit || !bytes.Equal(cm.Extended.Extensions[0].Extension, []byte{byte(h)}) ||
			!bytes.Equal(cm.Extended.Extensions[0].Signature, src.extended[h].Extensions[0].Signature)):
			t.Fatalf("height %d: extended commit %+v, want the server's", h, cm.Extended)
		}
		syncer.SetStatus(msgs.Status{Height: h + 1})
	}
}

// A peer whose status advertises stored blocks and that answers "missing"
// for them costs its score each time (finding 5 of issue 16): it used to
// be retried for free, so it could stall block sync forever.
func TestBlockSyncPenalisesAdvertisedButMissing(t *testing.T) {
	a := newTestNode(t, nil)
	a.SetStatus(msgs.Status{Height: 1})
	rogue := newRawHost(t)
	served := make(chan struct{}, 64)
	rogue.SetStreamHandler(ProtocolBlockSync, func(s network.Stream) {
		defer s.Close()
		payload, _, err := readFrame(bufio.NewReader(s), 1<<10)
		if err != nil {
			return
		}
		var req p2ppb.BlockRequest
		if decodeFrame(payload, &req) != nil {
			return
		}
		f, _ := encodeFrame(&p2ppb.BlockResponse{Height: req.FromHeight, Missing: true})
		_, _ = s.Write(f)
		served <- struct{}{}
	})
	sendFrom(t, rogue, a, &p2ppb.ConsensusMessage{Status: &p2ppb.Status{ChainID: testChain, Height: 101, StoreBase: 1, StoreHeight: 100}})
	recv(t, served, "a block request answered with missing")
	waitFor(t, "the rogue penalised", func() bool { return scoreOf(a, rogue.ID()) > 0 || a.gater.isBanned(rogue.ID()) })
}

// gatedSource is a BlockSource whose LoadBlock waits for open to close,
// counting the callers waiting.
type gatedSource struct {
	*fakeSource
	open    chan struct{}
	waiting atomic.Int32
}

func (g *gatedSource) LoadBlock(h int64) (*types.Block, error) {
	g.waiting.Add(1)
	<-g.open
	return g.fakeSource.LoadBlock(h)
}

// A peer may have at most maxServingPerPeer block sync requests served at
// once; a further one is refused at once (finding 5 of issue 16: any
// number of 64-block requests were served in parallel).
func TestBlockSyncServesAPeerTwoRequestsAtOnce(t *testing.T) {
	src := &gatedSource{fakeSource: newFakeSource(t, 4), open: make(chan struct{})}
	a := newTestNode(t, func(c *Config) { c.Source = src })
	a.SetStatus(msgs.Status{Height: 5})
	rogue := newRawHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dialRaw(ctx, rogue, a); err != nil {
		t.Fatal(err)
	}
	request := func() network.Stream {
		s, err := rogue.NewStream(ctx, a.ID(), ProtocolBlockSync)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := encodeFrame(&p2ppb.BlockRequest{FromHeight: 1, ToHeight: 4})
		if _, err := s.Write(f); err != nil {
			t.Fatal(err)
		}
		_ = s.CloseWrite()
		return s
	}
	var held []network.Stream
	for range maxServingPerPeer {
		held = append(held, request())
	}
	waitFor(t, "both requests loading blocks", func() bool { return src.waiting.Load() == maxServingPerPeer })
	extra := request()
	_ = extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, _, err := readFrame(bufio.NewReader(extra), 1<<20); !errors.Is(err, network.ErrReset) {
		t.Fatalf("a request past %d in parallel: read %v, want it refused (stream reset)", maxServingPerPeer, err)
	}
	close(src.open)
	for _, s := range held {
		if _, _, err := readFrame(bufio.NewReader(s), 1<<20); err != nil {
			t.Fatalf("a request within the bound was not served: %v", err)
		}
	}
}
