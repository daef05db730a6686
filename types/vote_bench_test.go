package types

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"
)

func benchVote(b *testing.B) (ed25519.PrivateKey, *ValidatorSet, *Vote) {
	b.Helper()
	seed := sha256.Sum256([]byte("bench-signer"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	vs, err := NewValidatorSet([]*Validator{NewValidator(priv.Public().(ed25519.PublicKey), 10)})
	if err != nil {
		b.Fatal(err)
	}
	v := &Vote{
		Type: PrecommitType, Height: 1_000_000, Round: 2,
		BlockID:          BlockID{Hash: sha256.Sum256([]byte("b")), PartSetHeader: PartSetHeader{Total: 3, Hash: sha256.Sum256([]byte("p"))}},
		Timestamp:        time.Unix(1_700_000_000, 42).UTC(),
		ValidatorAddress: vs.Validators[0].Address,
	}
	return priv, vs, v
}

// BenchmarkSignVote measures building a vote's sign bytes and signing them.
func BenchmarkSignVote(b *testing.B) {
	priv, _, v := benchVote(b)
	for b.Loop() {
		v.Signature = ed25519.Sign(priv, VoteSignBytes("bench-chain", v))
	}
}

// BenchmarkVerifyVote measures VerifyVote of a vote not verified before:
// checks, membership and the ed25519 signature.
func BenchmarkVerifyVote(b *testing.B) {
	priv, vs, v := benchVote(b)
	v.Signature = ed25519.Sign(priv, VoteSignBytes("bench-chain", v))
	for b.Loop() {
		verified.mu.Lock()
		clear(verified.seen)
		verified.mu.Unlock()
		if err := VerifyVote("bench-chain", vs, v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyVoteAgain measures VerifyVote of a vote this process
// verified before (p2p checks each vote, then the engine does).
func BenchmarkVerifyVoteAgain(b *testing.B) {
	priv, vs, v := benchVote(b)
	v.Signature = ed25519.Sign(priv, VoteSignBytes("bench-chain", v))
	if err := VerifyVote("bench-chain", vs, v); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := VerifyVote("bench-chain", vs, v); err != nil {
			b.Fatal(err)
		}
	}
}
