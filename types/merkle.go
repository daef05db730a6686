package types

import "crypto/sha256"

// Hash is a SHA-256 digest.
type Hash [32]byte

// IsZero reports whether h is the all-zero hash (used for "no hash").
func (h Hash) IsZero() bool { return h == Hash{} }

// Domain-separation prefixes for Merkle leaves and inner nodes (RFC 6962 style),
// so a leaf can never be confused with an inner node.
const (
	leafPrefix  = 0
	innerPrefix = 1
)

func leafHash(leaf []byte) Hash {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(leaf)
	var out Hash
	h.Sum(out[:0])
	return out
}

func innerHash(left, right Hash) Hash {
	h := sha256.New()
	h.Write([]byte{innerPrefix})
	h.Write(left[:])
	h.Write(right[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// MerkleRoot returns the root of the RFC 6962 Merkle tree over items; the
// root of an empty list is the SHA-256 of nothing.
func MerkleRoot(items [][]byte) Hash {
	switch len(items) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leafHash(items[0])
	}
	k := splitPoint(len(items))
	return innerHash(MerkleRoot(items[:k]), MerkleRoot(items[k:]))
}

// splitPoint is the largest power of two strictly less than n (n >= 2).
func splitPoint(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}
