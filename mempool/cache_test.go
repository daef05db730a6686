package mempool

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The cache, against a model that keeps the exact order in which hashes
// were last seen: a hash among the size most recent is always remembered;
// a hash never seen, or removed since, is new; one that 2×size other
// hashes followed is forgotten; the cache never holds more than 2×size.
func TestHashCache(t *testing.T) {
	const size = 8
	h := func(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8)} }
	c := newHashCache(size)
	var recent []int // the model: hashes by when last pushed, most recent last
	rng := rand.New(rand.NewPCG(5, 6))
	for step := range 20000 {
		k := rng.IntN(40)
		if rng.IntN(10) == 0 {
			c.remove(h(k))
			if i := slices.Index(recent, k); i >= 0 {
				recent = slices.Delete(recent, i, i+1)
			}
			continue
		}
		i := slices.Index(recent, k)
		switch got, age := c.push(h(k)), len(recent)-i; {
		case i < 0 && !got:
			t.Fatalf("step %d: push(%d) of a hash never seen or removed = false", step, k)
		case i >= 0 && age <= size && got:
			t.Fatalf("step %d: push(%d) = true, but it is the %d-th most recent of size %d", step, k, age, size)
		case i >= 0 && age > 2*size && !got:
			t.Fatalf("step %d: push(%d) = false, but %d others came since", step, k, age-1)
		}
		if i >= 0 {
			recent = slices.Delete(recent, i, i+1)
		}
		recent = append(recent, k)
		if n := c.len(); n > 2*size {
			t.Fatalf("step %d: cache holds %d hashes, size %d", step, n, size)
		}
	}
	c.reset()
	if c.len() != 0 || !c.push(h(1)) {
		t.Fatal("push after reset: hash still remembered")
	}
	// The rejected cache is reset after every block, nearly always empty.
	if n := testing.AllocsPerRun(10, c.reset); n != 0 {
		t.Errorf("reset allocates %v times, want 0", n)
	}
	if !c.push(h(1)) || c.push(h(1)) || !c.contains(h(1)) {
		t.Fatal("a cache reset twice does not remember a new hash")
	}
}
