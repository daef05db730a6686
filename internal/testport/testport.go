// Package testport picks loopback TCP ports for tests that must know a
// node's address before the node starts (to wire peers to it, or to restart
// it at the same address).
//
// A port from the kernel's ephemeral range (32768 and up on Linux, what
// listening on port 0 returns) can be taken by any outgoing connection in
// the moment between the pick and the listen, so a picker draws from a range
// below it. Test packages that run at the same time use disjoint ranges:
// test/e2e 20000–25999, node 27000–29999, cmd/bftnode 30000–31999, and
// test/interop (its own module) 12000–19999 (the
// default testnet ports are 26656 and up).
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// Picker hands out distinct free ports from [low, high).
type Picker struct {
	low, high int

	mu   sync.Mutex
	used map[int]bool
}

// New returns a picker for [low, high).
func New(low, high int) *Picker {
	return &Picker{low: low, high: high, used: map[int]bool{}}
}

// Free returns a port of the range that it has not handed out before and
// that could be listened on a moment ago.
func (p *Picker) Free(tb testing.TB) int {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for range 1000 {
		port := p.low + rand.IntN(p.high-p.low)
		if p.used[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		_ = l.Close()
		p.used[port] = true
		return port
	}
	tb.Fatalf("testport: no free port in [%d, %d)", p.low, p.high)
	return 0
}
