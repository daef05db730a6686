package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

const testChain = "p2p-test"

func testLogger(t testing.TB, level slog.Level) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// newTestNode starts a transport on 127.0.0.1 with a random port.
func newTestNode(t *testing.T, mod func(*Config)) *Transport {
	t.Helper()
	return startTestNode(t, buildTestNode(t, mod))
}

// buildTestNode creates, without starting it, a transport on 127.0.0.1
// with a random port.
func buildTestNode(t testing.TB, mod func(*Config)) *Transport {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		ChainID:        testChain,
		PrivKey:        priv,
		ListenAddrs:    []string{"/ip4/127.0.0.1/tcp/0"},
		GossipInterval: 100 * time.Millisecond,
		PexInterval:    300 * time.Millisecond,
		Logger:         testLogger(t, slog.LevelWarn),
	}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// startTestNode starts tr until the test (or benchmark) ends.
func startTestNode(t testing.TB, tr *Transport) *Transport {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		_ = tr.Close()
	})
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return tr
}

func addrInfo(tr *Transport) peer.AddrInfo {
	return peer.AddrInfo{ID: tr.ID(), Addrs: tr.host.Addrs()}
}

func connect(t *testing.T, a, b *Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.host.Connect(ctx, addrInfo(b)); err != nil {
		t.Fatalf("connect: %v", err)
	}
}

// waitFor polls cond until it holds or 30s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForUpTo(t, 30*time.Second, what, cond)
}

func waitForUpTo(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive waits for the next inbound message of tr.
func receive(t *testing.T, tr *Transport) msgs.Inbound {
	t.Helper()
	return recv(t, tr.Inbound(), "an inbound message")
}

// recv waits up to 30s for the next value on ch; what names it.
func recv[V any](t *testing.T, ch <-chan V, what string) V {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero V
		return zero
	}
}

// waitTicks waits until every transport ran n more gossip rounds.
func waitTicks(t *testing.T, n uint64, trs ...*Transport) {
	t.Helper()
	start := make([]uint64, len(trs))
	for i, tr := range trs {
		start[i] = tr.ticks.Load()
	}
	waitFor(t, "gossip rounds", func() bool {
		for i, tr := range trs {
			if tr.ticks.Load() < start[i]+n {
				return false
			}
		}
		return true
	})
}

func fakeSig(tag string) []byte {
	sig := make([]byte, ed25519.SignatureSize)
	copy(sig, tag)
	return sig
}

func testAddr(i int) types.Address {
	var a types.Address
	a[0] = byte(i + 1)
	return a
}

// makeBlock builds a block at height with txs and lastCommit.
func makeBlock(height int64, txs [][]byte, lastID types.BlockID, lastCommit *types.Commit) *types.Block {
	b := &types.Block{
		Header: types.Header{Version: types.Version{Block: types.BlockProtocol}, ChainID: testChain, Height: height, Time: time.Unix(1_700_000_000+height, 0).UTC(), LastBlockID: lastID},
		Data:   types.Data{Txs: txs},
	}
	b.LastCommit = lastCommit
	b.FillHeader()
	return b
}

func makeCommit(height int64, id types.BlockID) *types.Commit {
	return &types.Commit{Height: height, BlockID: id, Signatures: []types.CommitSig{{
		Flag: types.BlockIDFlagCommit, ValidatorAddress: testAddr(0), Timestamp: time.Unix(1_700_000_000+height, 0).UTC(), Signature: fakeSig(fmt.Sprint("c", height)),
	}}}
}

var errNoBlock = errors.New("no block")

// fakeSource is an in-memory msgs.BlockSource.
type fakeSource struct {
	mu      sync.Mutex
	blocks  []*types.Block
	commits []*types.Commit // seen commits
	// extended are the seen commits with vote extensions, by height.
	extended map[int64]*types.ExtendedCommit
}

func newFakeSource(t *testing.T, n int) *fakeSource {
	t.Helper()
	return fakeSourceOf(t, n, 4096, "tx")
}

// fakeSourceOf holds n blocks, each with one tx of txBytes starting with
// tag and the height.
func fakeSourceOf(t *testing.T, n, txBytes int, tag string) *fakeSource {
	t.Helper()
	fs := &fakeSource{}
	var lastID types.BlockID
	var last *types.Commit
	for h := int64(1); h <= int64(n); h++ {
		tx := make([]byte, txBytes)
		copy(tx, fmt.Sprintf("%s-%d", tag, h))
		b := makeBlock(h, [][]byte{tx}, lastID, last)
		id, err := types.MakeBlockID(b)
		if err != nil {
			t.Fatal(err)
		}
		lastID, last = id, makeCommit(h, id)
		fs.blocks = append(fs.blocks, b)
		fs.commits = append(fs.commits, last)
	}
	return fs
}

func (fs *fakeSource) Base() int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.blocks) == 0 {
		return 0
	}
	return 1
}

func (fs *fakeSource) Height() int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return int64(len(fs.blocks))
}

func (fs *fakeSource) LoadBlock(h int64) (*types.Block, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if h < 1 || h > int64(len(fs.blocks)) {
		return nil, errNoBlock
	}
	return fs.blocks[h-1], nil
}

func (fs *fakeSource) LoadBlockCommit(h int64) (*types.Commit, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if h < 1 || h >= int64(len(fs.blocks)) {
		return nil, errNoBlock
	}
	return fs.blocks[h].LastCommit, nil
}

func (fs *fakeSource) LoadSeenCommit(h int64) (*types.Commit, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if h < 1 || h > int64(len(fs.commits)) {
		return nil, errNoBlock
	}
	return fs.commits[h-1], nil
}

func (fs *fakeSource) LoadExtendedCommit(h int64) (*types.ExtendedCommit, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if ec := fs.extended[h]; ec != nil {
		return ec, nil
	}
	return nil, errNoBlock
}

func mustDecode(t *testing.T, id string) peer.ID {
	t.Helper()
	p, err := peer.Decode(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
