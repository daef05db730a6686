package p2p

import (
	"fmt"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

func propFrameAt(h int64, r int32, tag string) *p2ppb.ConsensusMessage {
	b := makeBlock(h, [][]byte{[]byte(tag)}, types.BlockID{}, nil)
	id, _ := types.MakeBlockID(b)
	p := &types.Proposal{Height: h, Round: r, POLRound: -1, BlockID: id, Timestamp: time.Unix(1, 0).UTC(), Signature: fakeSig(tag)}
	return propFrame(p)
}

func voteAt(h int64, r int32, idx int32, tag string) *types.Vote {
	return &types.Vote{Type: types.PrevoteType, Height: h, Round: r, Timestamp: time.Unix(1, 0).UTC(),
		ValidatorAddress: testAddr(int(idx)), ValidatorIndex: idx, Signature: fakeSig(tag)}
}

// heldAt counts the proposals and votes tr holds at height h.
func heldAt(tr *Transport, h int64) (proposals, votes int) {
	tr.gossip.mu.Lock()
	defer tr.gossip.mu.Unlock()
	if hd := tr.gossip.heights[h]; hd != nil {
		return len(hd.proposals), len(hd.votes)
	}
	return 0, 0
}

// A rogue peer's proposals and votes outside the admission window
// (msgs.Status.Admits) are neither held nor delivered, without blame (an
// honest peer may be ahead); a vote naming a validator index the set
// cannot have is the sender's fault. Findings 1, 2 and 3 of issue 16: the
// transport used to store unsigned proposals and votes of the previous
// height, of any round and any validator index, and hand them on.
func TestPeerInputOutsideWindowIsNotHeld(t *testing.T) {
	a := newTestNode(t, nil)
	a.SetStatus(msgs.Status{Height: 5, Round: 1, Validators: 4, NextValidators: 4})
	far := int32(1 + msgs.RoundsAhead + 1)
	outside := []*p2ppb.ConsensusMessage{
		propFrameAt(4, 0, "previous height"),
		propFrameAt(5, far, "current height, round past the window"),
		propFrameAt(6, msgs.RoundsAhead, "next height, round past the window"),
		propFrameAt(7, 0, "two heights ahead"),
		voteFrame(voteAt(4, 0, 0, "previous height")),
		voteFrame(voteAt(5, far, 0, "far round")),
		voteFrame(voteAt(5, 1<<30, 1, "very far round")),
		voteFrame(voteAt(6, msgs.RoundsAhead, 2, "next height, far round")),
	}
	sentinel := voteAt(5, 1, 3, "in the window")
	raw := rawSend(t, a, append(outside, voteFrame(sentinel))...)
	m := receive(t, a) // messages are handled in order
	if v, ok := m.Msg.(msgs.VoteMsg); !ok || v.Vote.Round != sentinel.Round || v.Vote.ValidatorIndex != sentinel.ValidatorIndex {
		t.Fatalf("first delivery %T %+v, want the in-window vote", m.Msg, m.Msg)
	}
	for _, h := range []int64{4, 6, 7} {
		if p, v := heldAt(a, h); p+v != 0 {
			t.Errorf("height %d: %d proposals and %d votes held, want none", h, p, v)
		}
	}
	if p, v := heldAt(a, 5); p != 0 || v != 1 {
		t.Errorf("height 5: %d proposals and %d votes held, want only the in-window vote", p, v)
	}
	if s := scoreOf(a, raw.ID()); s != 0 {
		t.Errorf("sender of out-of-window messages scored %d, want 0", s)
	}

	// An index past the set is invalid at any round: it costs the sender.
	rogue := rawSend(t, a, voteFrame(voteAt(5, 0, 4, "no such validator")))
	waitFor(t, "the out-of-set vote penalised", func() bool { return scoreOf(a, rogue.ID()) > 0 })
	if _, v := heldAt(a, 5); v != 1 {
		t.Errorf("height 5: %d votes held after the out-of-set vote, want 1", v)
	}
}

// Before the engine's first status (the app handshake and WAL replay are
// still running) no height is in the window: a peer's consensus messages
// are neither held nor delivered. Finding 8 of issue 16.
func TestNothingAdmittedBeforeFirstStatus(t *testing.T) {
	a := newTestNode(t, nil)
	var frames []*p2ppb.ConsensusMessage
	for h := int64(1); h <= 3; h++ {
		frames = append(frames, propFrameAt(h, 0, fmt.Sprint("p", h)), voteFrame(voteAt(h, 0, 0, fmt.Sprint("v", h))))
	}
	rawSend(t, a, frames...)
	waitFor(t, "every frame received", func() bool {
		s := a.Stats()
		return s.Received[KindProposal].Frames+s.Received[KindVote].Frames == uint64(len(frames))
	})
	for h := int64(1); h <= 3; h++ {
		if p, v := heldAt(a, h); p+v != 0 {
			t.Errorf("height %d: %d proposals and %d votes held before the first status", h, p, v)
		}
	}
	select {
	case m := <-a.Inbound():
		t.Fatalf("delivered %T before the first status", m.Msg)
	default:
	}
}
