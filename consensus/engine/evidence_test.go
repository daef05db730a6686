package engine

import (
	"crypto/ed25519"
	"log/slog"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

func TestEvidenceIsDeduplicatedAndBounded(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signedVote := func(id types.BlockID) *types.Vote {
		v := &types.Vote{Type: types.PrevoteType, Height: 3, Round: 1, BlockID: id, Timestamp: time.Unix(100, 0).UTC(),
			ValidatorAddress: types.AddressOf(priv.Public().(ed25519.PublicKey))}
		v.Signature = ed25519.Sign(priv, types.VoteSignBytes("evidence-test", v))
		return v
	}
	var reported int
	e := &Engine{log: slog.New(slog.DiscardHandler), core: consensus.New(types.Address{}, consensus.Timeouts{Propose: time.Second, Prevote: time.Second, Precommit: time.Second}),
		cfg: Config{OnEvidence: func(types.DuplicateVoteEvidence) { reported++ }}}
	block := types.BlockID{Hash: types.Hash{1}, PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash{2}}}
	ev := func(h int64) types.DuplicateVoteEvidence {
		a, b := signedVote(block), signedVote(types.BlockID{})
		a.Height, b.Height = h, h
		return types.DuplicateVoteEvidence{VoteA: a, VoteB: b}
	}
	e.recordEvidence(ev(1))
	e.recordEvidence(ev(1)) // the same equivocation reported again
	e.recordEvidence(types.DuplicateVoteEvidence{})
	if got := e.Evidence(); len(got) != 1 || reported != 1 {
		t.Fatalf("after a repeat: %d recorded, %d reported; want 1, 1", len(got), reported)
	}
	for h := int64(2); h <= MaxEvidence+10; h++ {
		e.recordEvidence(ev(h))
	}
	got := e.Evidence()
	if len(got) != MaxEvidence || got[0].VoteA.Height != 11 || got[len(got)-1].VoteA.Height != MaxEvidence+10 {
		t.Fatalf("bounded list holds %d, heights %d..%d", len(got), got[0].VoteA.Height, got[len(got)-1].VoteA.Height)
	}
	got[0].VoteA.Height = -1 // a copy: the engine's record is unchanged
	if e.Evidence()[0].VoteA.Height != 11 {
		t.Fatal("Evidence returned the engine's own votes")
	}
	e.recordEvidence(ev(1)) // dropped from the list, so new again
	if reported != MaxEvidence+11 {
		t.Fatalf("reported %d, want %d", reported, MaxEvidence+11)
	}
}
