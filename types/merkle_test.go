package types

import (
	"fmt"
	"testing"
)

func TestMerkleProofsMatchRoot(t *testing.T) {
	for n := 1; n <= 17; n++ {
		items := make([][]byte, n)
		for i := range items {
			items[i] = []byte(fmt.Sprintf("item-%d", i))
		}
		root, aunts := MerkleProofs(items)
		if root != MerkleRoot(items) {
			t.Fatalf("n=%d: root differs from MerkleRoot", n)
		}
		for i := range items {
			got, ok := MerkleRootFromAunts(int64(i), int64(n), MerkleLeafHash(items[i]), aunts[i])
			if !ok || got != root {
				t.Fatalf("n=%d i=%d: proof does not verify", n, i)
			}
			if n > 1 {
				if got, ok := MerkleRootFromAunts(int64((i+1)%n), int64(n), MerkleLeafHash(items[i]), aunts[i]); ok && got == root {
					t.Fatalf("n=%d i=%d: proof verifies at the wrong index", n, i)
				}
			}
		}
	}
}
