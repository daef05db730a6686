package engine

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/types"
)

func testBlock(t testing.TB) (*types.Block, types.BlockID) {
	t.Helper()
	b := &types.Block{
		Header: types.Header{ChainID: "c", Height: 3, Time: time.Unix(100, 5).UTC(), AppHash: []byte{1, 2}},
		Data:   types.Data{Txs: [][]byte{[]byte("a=b"), []byte("c")}},
	}
	b.Header.DataHash = b.Data.Hash()
	id, err := types.MakeBlockID(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, id
}

func TestWALRecordsRoundTrip(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	vs, err := types.NewValidatorSet([]*types.Validator{types.NewValidator(priv.Public().(ed25519.PublicKey), 1)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 123).UTC()
	b, id := testBlock(t)
	vote := &types.Vote{Type: types.PrecommitType, Height: 3, Round: 1, BlockID: id, Timestamp: now,
		ValidatorAddress: vs.Validators[0].Address, Signature: make([]byte, 64),
		Extension: []byte("extension"), ExtensionSignature: bytes.Repeat([]byte{9}, 64)}
	prop := &types.Proposal{Height: 3, Round: 1, POLRound: 0, BlockID: id, Timestamp: now, Signature: make([]byte, 64)}

	pRec, err := encodeProposal(prop, b, now)
	if err != nil {
		t.Fatal(err)
	}
	vrRec, err := encodeValueReady(consensus.ValueReady{Height: 3, Round: 1, BlockID: id, Now: now}, b)
	if err != nil {
		t.Fatal(err)
	}
	vcRec, err := encodeValidity(consensus.ValidityChecked{Height: 3, BlockID: id, Valid: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	voteRec, err := encodeVote(vote, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind    wal.Kind
		payload []byte
		check   func(t *testing.T, ent walEntry)
	}{
		{kindStartHeight, encodeStartHeight(3, now), func(t *testing.T, ent walEntry) {
			e := ent.events[0].(consensus.StartHeight)
			if e.Height != 3 || !e.Now.Equal(now) || e.Validators != vs {
				t.Errorf("got %+v", e)
			}
		}},
		{kindProposal, pRec, func(t *testing.T, ent walEntry) {
			p := ent.events[0].(consensus.ProposalReceived).Proposal
			if p.BlockID != id || p.POLRound != 0 || !p.Timestamp.Equal(now) {
				t.Errorf("got %+v", p)
			}
			if got, _ := types.MakeBlockID(ent.block); got != id {
				t.Errorf("block ID %v after decoding, want %v", got, id)
			}
			if vr := ent.events[1].(consensus.ValueReceived); vr.BlockID != id {
				t.Errorf("value received %v", vr.BlockID)
			}
		}},
		{kindValueReady, vrRec, func(t *testing.T, ent walEntry) {
			if e := ent.events[0].(consensus.ValueReady); e.BlockID != id || e.Round != 1 || e.Height != 3 {
				t.Errorf("got %+v", e)
			}
		}},
		{kindValidity, vcRec, func(t *testing.T, ent walEntry) {
			if e := ent.events[0].(consensus.ValidityChecked); e.BlockID != id || !e.Valid {
				t.Errorf("got %+v", e)
			}
		}},
		{kindVote, voteRec, func(t *testing.T, ent walEntry) {
			v := ent.events[0].(consensus.VoteReceived).Vote
			if v.BlockID != id || v.Type != types.PrecommitType || v.Round != 1 || !v.Timestamp.Equal(now) ||
				!bytes.Equal(v.Extension, vote.Extension) || !bytes.Equal(v.ExtensionSignature, vote.ExtensionSignature) {
				t.Errorf("got %+v", v)
			}
		}},
		{kindTimeout, encodeTimeout(consensus.TimeoutFired{Height: 3, Round: 2, Step: consensus.StepPrevote, Now: now}), func(t *testing.T, ent walEntry) {
			if e := ent.events[0].(consensus.TimeoutFired); e.Round != 2 || e.Step != consensus.StepPrevote {
				t.Errorf("got %+v", e)
			}
		}},
	}
	for _, tc := range cases {
		ent, err := decodeRecord(wal.Record{Kind: tc.kind, Payload: tc.payload}, vs)
		if err != nil {
			t.Fatalf("kind %d: %v", tc.kind, err)
		}
		tc.check(t, ent)
		// Every strict prefix is refused with an error, never a panic.
		for n := range len(tc.payload) {
			if _, err := decodeRecord(wal.Record{Kind: tc.kind, Payload: tc.payload[:n]}, vs); err == nil && tc.kind != kindStartHeight {
				t.Fatalf("kind %d: a %d-byte prefix decoded", tc.kind, n)
			}
		}
	}
	if _, err := decodeRecord(wal.Record{Kind: 99, Payload: nil}, vs); err == nil {
		t.Fatal("unknown kind decoded")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	b, id := testBlock(f)
	p, _ := encodeProposal(&types.Proposal{Height: 3, Round: 1, POLRound: -1, BlockID: id}, b, time.Unix(1, 0))
	f.Add(uint8(kindProposal), p)
	f.Add(uint8(kindTimeout), encodeTimeout(consensus.TimeoutFired{Height: 1}))
	f.Add(uint8(kindVote), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 8, 1})
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		_, _ = decodeRecord(wal.Record{Kind: wal.Kind(kind), Payload: payload}, nil)
	})
}

func TestFakeClockRunsTimersInOrder(t *testing.T) {
	c := NewFakeClock(time.Unix(0, 0))
	var got []int
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, 3) })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, 1) })
	stop := c.AfterFunc(20*time.Millisecond, func() { got = append(got, 2) })
	if !stop() {
		t.Fatal("stopping a pending timer reported false")
	}
	c.AfterFunc(20*time.Millisecond, func() {
		got = append(got, 2)
		c.AfterFunc(5*time.Millisecond, func() { got = append(got, 25) })
	})
	c.Advance(15 * time.Millisecond)
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("after 15ms ran %v", got)
	}
	c.Advance(100 * time.Millisecond)
	want := []int{1, 2, 25, 3}
	if len(got) != len(want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ran %v, want %v", got, want)
		}
	}
	if c.Pending() != 0 || !c.Now().Equal(time.Unix(0, 0).Add(115*time.Millisecond)) {
		t.Fatalf("pending %d, now %v", c.Pending(), c.Now())
	}
}

func TestWALMessagesReadsVotesAndProposals(t *testing.T) {
	dir := t.TempDir()
	w, err := wal.Open(dir, wal.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, id := testBlock(t)
	now := time.Unix(5, 0).UTC()
	p, err := encodeProposal(&types.Proposal{Height: 3, Round: 0, POLRound: -1, BlockID: id, Signature: make([]byte, 64)}, b, now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := encodeVote(&types.Vote{Type: types.PrevoteType, Height: 3, BlockID: id, Signature: make([]byte, 64)}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		k wal.Kind
		p []byte
	}{{kindStartHeight, encodeStartHeight(3, now)}, {kindProposal, p}, {kindVote, v}, {kindTimeout, encodeTimeout(consensus.TimeoutFired{Height: 3})}} {
		if err := w.WriteSync(r.k, r.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, wal.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	votes, props, err := WALMessages(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 1 || len(props) != 1 || votes[0].BlockID != id || props[0].BlockID != id {
		t.Fatalf("got %d votes, %d proposals", len(votes), len(props))
	}
}
