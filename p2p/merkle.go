package p2p

import (
	"crypto/sha256"

	"github.com/bftnode/bftnode/types"
)

// Merkle inclusion proofs over the RFC 6962 tree that types.MerkleRoot
// builds (leaf prefix 0, inner prefix 1, split at the largest power of two
// below n), so a part can be checked against a PartSetHeader on arrival.

func leafHash(leaf []byte) types.Hash {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	var out types.Hash
	h.Sum(out[:0])
	return out
}

func innerHash(left, right types.Hash) types.Hash {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(left[:])
	h.Write(right[:])
	var out types.Hash
	h.Sum(out[:0])
	return out
}

func splitPoint(n int64) int64 {
	k := int64(1)
	for k*2 < n {
		k *= 2
	}
	return k
}

// merkleProofs returns the root over items (at least one) and, per item,
// its aunts from the leaf level up to the root.
func merkleProofs(items [][]byte) (types.Hash, [][]types.Hash) {
	if len(items) == 1 {
		return leafHash(items[0]), [][]types.Hash{nil}
	}
	k := splitPoint(int64(len(items)))
	left, la := merkleProofs(items[:k])
	right, ra := merkleProofs(items[k:])
	for i := range la {
		la[i] = append(la[i], right)
	}
	for i := range ra {
		ra[i] = append(ra[i], left)
	}
	return innerHash(left, right), append(la, ra...)
}

// rootFromAunts computes the root implied by leaf at index among total
// leaves with the given aunts (leaf level first); ok is false when the
// proof's shape does not fit (index, total).
func rootFromAunts(index, total int64, leaf types.Hash, aunts []types.Hash) (types.Hash, bool) {
	if total <= 0 || index < 0 || index >= total {
		return types.Hash{}, false
	}
	if total == 1 {
		return leaf, len(aunts) == 0
	}
	if len(aunts) == 0 {
		return types.Hash{}, false
	}
	last := aunts[len(aunts)-1]
	k := splitPoint(total)
	if index < k {
		left, ok := rootFromAunts(index, k, leaf, aunts[:len(aunts)-1])
		return innerHash(left, last), ok
	}
	right, ok := rootFromAunts(index-k, total-k, leaf, aunts[:len(aunts)-1])
	return innerHash(last, right), ok
}
