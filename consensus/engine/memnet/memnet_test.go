package memnet_test

import (
	"errors"
	"testing"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/engine/memnet"
	"github.com/bftnode/bftnode/types"
)

// fixedSource serves one block at height 1.
type fixedSource struct{ height int64 }

func (s fixedSource) Base() int64   { return 1 }
func (s fixedSource) Height() int64 { return s.height }
func (s fixedSource) LoadBlock(h int64) (*types.Block, error) {
	return &types.Block{Header: types.Header{Height: h}}, nil
}
func (s fixedSource) LoadBlockCommit(h int64) (*types.Commit, error) {
	return &types.Commit{Height: h}, nil
}
func (s fixedSource) LoadSeenCommit(h int64) (*types.Commit, error) {
	return &types.Commit{Height: h}, nil
}
func (s fixedSource) LoadExtendedCommit(int64) (*types.ExtendedCommit, error) {
	return nil, errors.New("no vote extensions")
}

func recv(t *testing.T, ep *memnet.Endpoint) (engine.Inbound, bool) {
	t.Helper()
	select {
	case in := <-ep.Inbound():
		return in, true
	default:
		return engine.Inbound{}, false
	}
}

func TestBroadcastLeaveAndCatchUp(t *testing.T) {
	n := memnet.New()
	var observed int
	n.Observe(func(string, any) { observed++ })
	a := n.Join("a", fixedSource{height: 1})
	b := n.Join("b", fixedSource{height: 0})
	c := n.Join("c", nil)

	a.Broadcast(engine.VoteMsg{})
	for _, ep := range []*memnet.Endpoint{b, c} {
		if in, ok := recv(t, ep); !ok || in.From != "a" {
			t.Fatalf("delivery: %+v %v", in, ok)
		}
	}
	if _, ok := recv(t, a); ok {
		t.Fatal("a received its own broadcast")
	}
	if observed != 1 {
		t.Fatalf("observer saw %d messages", observed)
	}

	n.Leave("c")
	a.Broadcast(engine.VoteMsg{})
	if _, ok := recv(t, c); ok {
		t.Fatal("a node that left received a message")
	}
	recv(t, b)

	// b announces height 1, which a has committed: a sends it.
	b.SetStatus(engine.Status{Height: 1})
	in, ok := recv(t, b)
	cm, isCommit := in.Msg.(engine.CommitMsg)
	if !ok || !isCommit || in.From != "a" || cm.Commit.Height != 1 {
		t.Fatalf("catch-up: %+v %v", in, ok)
	}
	b.SetStatus(engine.Status{Height: 2})
	if _, ok := recv(t, b); ok {
		t.Fatal("catch-up for a height no peer has")
	}
	if b.Status().Height != 2 {
		t.Fatalf("status %+v", b.Status())
	}

	bad := errors.New("bad")
	b.ReportPeer("a", bad)
	if r := b.Reports(); len(r) != 1 || r[0].Peer != "a" || r[0].Reason != bad {
		t.Fatalf("reports %+v", r)
	}
}
