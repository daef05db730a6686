package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

func TestPartSetRejectsTamperedParts(t *testing.T) {
	var txs [][]byte
	for i := range 3 {
		txs = append(txs, bytes.Repeat([]byte{byte(i)}, 70_000))
	}
	block := makeBlock(1, txs, types.BlockID{}, nil)
	id, err := types.MakeBlockID(block)
	if err != nil {
		t.Fatal(err)
	}
	full, err := partSetFromBlock(block, id.PartSetHeader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := partSetFromBlock(block, types.PartSetHeader{Total: 1}); !errors.Is(err, ErrBadPart) {
		t.Fatalf("mismatched header: err = %v", err)
	}
	clone := func(p *typespb.Part) *typespb.Part {
		c := *p
		c.Bytes = append([]byte(nil), p.Bytes...)
		c.Proof.Aunts = append([][]byte(nil), p.Proof.Aunts...)
		return &c
	}
	tamper := map[string]func(p *typespb.Part){
		"flipped byte":  func(p *typespb.Part) { p.Bytes[10] ^= 1 },
		"wrong index":   func(p *typespb.Part) { p.Index = (p.Index + 1) % id.PartSetHeader.Total },
		"index too big": func(p *typespb.Part) { p.Index = 1000 },
		"short aunt":    func(p *typespb.Part) { p.Proof.Aunts[0] = p.Proof.Aunts[0][:5] },
		"no aunts":      func(p *typespb.Part) { p.Proof.Aunts = nil },
		"empty":         func(p *typespb.Part) { p.Bytes = nil },
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			ps := newPartSet(id.PartSetHeader)
			p := clone(full.parts[1])
			f(p)
			if _, err := ps.add(p); !errors.Is(err, ErrBadPart) {
				t.Fatalf("err = %v, want ErrBadPart", err)
			}
		})
	}
	ps := newPartSet(id.PartSetHeader)
	for i := len(full.parts) - 1; i >= 0; i-- {
		if added, err := ps.add(clone(full.parts[i])); err != nil || !added {
			t.Fatalf("part %d: added=%v err=%v", i, added, err)
		}
	}
	if added, err := ps.add(clone(full.parts[0])); err != nil || added {
		t.Fatalf("duplicate: added=%v err=%v", added, err)
	}
	got, err := ps.block()
	if err != nil || got.Hash() != block.Hash() {
		t.Fatalf("reassembled block: %v", err)
	}
}

func TestReadFrameLimits(t *testing.T) {
	frame, err := encodeFrame(&p2ppb.HasBlock{Height: 5, Round: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"ok", frame, 100, nil},
		{"over limit", frame, 2, ErrFrameTooLarge},
		{"huge prefix", []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, 1 << 20, ErrFrameTooLarge},
		{"endless prefix", bytes.Repeat([]byte{0x80}, 20), 1 << 30, ErrFrameTooLarge},
		{"truncated body", frame[:len(frame)-1], 100, ErrBadFrame},
		{"truncated prefix", []byte{0x80}, 100, ErrBadFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload, _, err := readFrame(bufio.NewReader(bytes.NewReader(tc.input)), tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				var m p2ppb.HasBlock
				if err := decodeFrame(payload, &m); err != nil || m.Height != 5 || m.Round != 1 {
					t.Fatalf("decoded %+v, %v", m, err)
				}
			}
		})
	}
}

// FuzzConsensusFrame feeds arbitrary frames to the consensus handler: it
// must return an error or act, never panic.
func FuzzConsensusFrame(f *testing.F) {
	vote := &types.Vote{Type: types.PrevoteType, Height: 1, ValidatorIndex: 2, Signature: fakeSig("v")}
	for _, m := range []*p2ppb.ConsensusMessage{
		{Status: &p2ppb.Status{ChainID: testChain, Height: 3}},
		{Vote: &p2ppb.VoteMessage{Vote: vote.ToProto()}},
		{HasVote: &p2ppb.HasVote{Height: 1, Type: 1}},
		{BlockPart: &p2ppb.BlockPartMessage{Height: 1, Part: &typespb.Part{Index: 0, Bytes: []byte("x")}}},
	} {
		fr, err := encodeFrame(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr[1:])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		tr := &Transport{
			cfg: Config{ChainID: testChain, MaxBlockBytes: 1 << 20},
			log: slog.New(slog.DiscardHandler),
			gossip: consensusGossip{
				peers:   map[peer.ID]*peerState{},
				heights: map[int64]*heightData{},
				status:  msgs.Status{Height: 1}, // heights 1 and 2 admitted
			},
			inbound: make(chan msgs.Inbound, 16),
			ctx:     context.Background(),
		}
		ps := &peerState{has: map[int64]*peerHas{}}
		_ = tr.handleConsensusFrame(ps, payload, len(payload)+1)
	})
}

func TestScoresDecayAndBan(t *testing.T) {
	var s scores
	p := peer.ID("p")
	t0 := time.Unix(1000, 0)
	if v, ban := s.add(p, 60, 100, t0); ban || v != 60 {
		t.Fatalf("first: %d %v", v, ban)
	}
	// 30 points forgiven after 300s.
	if v, ban := s.add(p, 60, 100, t0.Add(30*scoreDecay)); ban || v != 90 {
		t.Fatalf("after decay: %d %v", v, ban)
	}
	if v, ban := s.add(p, 10, 100, t0.Add(30*scoreDecay)); !ban || v != 100 {
		t.Fatalf("at threshold: %d %v", v, ban)
	}
	if v, _ := s.add(p, 1, 100, t0.Add(30*scoreDecay)); v != 1 {
		t.Fatalf("score not reset after ban: %d", v)
	}
}
