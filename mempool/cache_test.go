package mempool

import "testing"

func TestLRUCache(t *testing.T) {
	h := func(b byte) [32]byte { return [32]byte{b} }
	c := newLRUCache(3)
	for _, step := range []struct {
		op   string
		key  byte
		want bool // result of push
	}{
		{"push", 1, true},
		{"push", 2, true},
		{"push", 3, true},
		{"push", 1, false}, // refreshes 1: 2 is now the least recent
		{"push", 4, true},  // evicts 2
		{"push", 2, true},  // evicts 3
		{"push", 1, false},
		{"push", 4, false},
		{"remove", 4, false},
		{"push", 4, true}, // no eviction: there was room
		{"push", 2, false},
		{"push", 1, false},
	} {
		switch step.op {
		case "push":
			if got := c.push(h(step.key)); got != step.want {
				t.Fatalf("push(%d) = %v, want %v", step.key, got, step.want)
			}
		case "remove":
			c.remove(h(step.key))
		}
		if len(c.nodes) > 3 {
			t.Fatalf("cache holds %d hashes, size 3", len(c.nodes))
		}
	}
	c.reset()
	if !c.push(h(1)) {
		t.Fatal("push after reset: hash still remembered")
	}
	// The rejected cache is reset after every block, nearly always empty.
	if n := testing.AllocsPerRun(10, c.reset); n != 0 {
		t.Errorf("reset allocates %v times, want 0", n)
	}
	if !c.push(h(1)) || c.push(h(1)) {
		t.Fatal("a cache reset twice does not remember a new hash")
	}
}
