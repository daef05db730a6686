package types

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// A triple verified once is answered from the cache, but nothing else is:
// not the same signature over another message, nor under another key, nor
// a bad signature seen before.
func TestSigCacheAcceptsOnlyWhatItVerified(t *testing.T) {
	var c sigCache
	c.seen = map[[sha256.Size]byte]struct{}{}
	a, b := testKey("sigcache-a"), testKey("sigcache-b")
	pubA, pubB := a.Public().(ed25519.PublicKey), b.Public().(ed25519.PublicKey)
	msg := []byte("vote sign bytes")
	sig := ed25519.Sign(a, msg)

	for i := range 2 {
		if !c.verify(pubA, msg, sig) {
			t.Fatalf("pass %d: a valid signature was refused", i)
		}
	}
	if len(c.seen) != 1 {
		t.Fatalf("%d entries after verifying one triple twice, want 1", len(c.seen))
	}
	if c.verify(pubA, []byte("vote sign byteS"), sig) {
		t.Error("the signature of another message was accepted")
	}
	if c.verify(pubB, msg, sig) {
		t.Error("another key's claim to the signature was accepted")
	}
	bad := append([]byte(nil), sig...)
	bad[0] ^= 1
	for i := range 2 {
		if c.verify(pubA, msg, bad) {
			t.Fatalf("pass %d: a bad signature was accepted", i)
		}
	}
	if len(c.seen) != 1 {
		t.Errorf("%d entries, want only the valid triple", len(c.seen))
	}
}

// The cache never holds more than sigCacheSize triples.
func TestSigCacheBounded(t *testing.T) {
	var c sigCache
	c.seen = map[[sha256.Size]byte]struct{}{}
	k := testKey("sigcache-bound")
	pub := k.Public().(ed25519.PublicKey)
	for i := range sigCacheSize + 10 {
		msg := fmt.Appendf(nil, "msg %d", i)
		if !c.verify(pub, msg, ed25519.Sign(k, msg)) {
			t.Fatalf("message %d refused", i)
		}
		if len(c.seen) > sigCacheSize {
			t.Fatalf("%d entries after %d triples, bound %d", len(c.seen), i+1, sigCacheSize)
		}
	}
}

// VerifyVote through the cache: the vote verified once, then the same
// vote's signature moved to another round is refused.
func TestVerifyVoteCachedStillChecksTheVote(t *testing.T) {
	k := testKey("sigcache-vote")
	vs, err := NewValidatorSet([]*Validator{NewValidator(k.Public().(ed25519.PublicKey), 10)})
	if err != nil {
		t.Fatal(err)
	}
	v := &Vote{Type: PrevoteType, Height: 7, Round: 1, ValidatorAddress: vs.Validators[0].Address}
	v.Signature = ed25519.Sign(k, VoteSignBytes("chain", v))
	for i := range 2 {
		if err := VerifyVote("chain", vs, v); err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
	}
	moved := *v
	moved.Round = 2
	if err := VerifyVote("chain", vs, &moved); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("the signature moved to round 2: got %v, want ErrBadSignature", err)
	}
	if err := VerifyVote("other-chain", vs, v); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("the vote on another chain: got %v, want ErrBadSignature", err)
	}
}
