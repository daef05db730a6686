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

// MerkleLeafHash is the hash of one leaf of the tree MerkleRoot builds.
func MerkleLeafHash(leaf []byte) Hash { return leafHash(leaf) }

// MerkleProofs returns the root over items (at least one) and, per item,
// its inclusion proof: the aunts from the leaf level up to the root.
func MerkleProofs(items [][]byte) (Hash, [][]Hash) {
	if len(items) == 1 {
		return leafHash(items[0]), [][]Hash{nil}
	}
	k := splitPoint(len(items))
	left, la := MerkleProofs(items[:k])
	right, ra := MerkleProofs(items[k:])
	for i := range la {
		la[i] = append(la[i], right)
	}
	for i := range ra {
		ra[i] = append(ra[i], left)
	}
	return innerHash(left, right), append(la, ra...)
}

// MerkleRootFromAunts computes the root implied by the leaf hash at index
// among total leaves with the given aunts (leaf level first); ok is false
// when the proof's shape does not fit (index, total).
func MerkleRootFromAunts(index, total int64, leaf Hash, aunts []Hash) (root Hash, ok bool) {
	if total <= 0 || index < 0 || index >= total {
		return Hash{}, false
	}
	if total == 1 {
		return leaf, len(aunts) == 0
	}
	if len(aunts) == 0 {
		return Hash{}, false
	}
	last := aunts[len(aunts)-1]
	k := int64(splitPoint(int(total)))
	if index < k {
		left, ok := MerkleRootFromAunts(index, k, leaf, aunts[:len(aunts)-1])
		return innerHash(left, last), ok
	}
	right, ok := MerkleRootFromAunts(index-k, total-k, leaf, aunts[:len(aunts)-1])
	return innerHash(last, right), ok
}
