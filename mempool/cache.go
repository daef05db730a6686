package mempool

import "sync"

// hashCache remembers recently seen tx hashes: at least the size most
// recently seen distinct ones, and at most twice as many. It keeps two
// generations of up to size hashes each: a new hash joins the current one;
// when that is full it becomes the previous one, and the one before is
// forgotten. A hash seen again moves to the current generation. A hash
// among the size most recent was seen after the previous generation
// started (a whole generation of others came since anything older), so it
// is in one of the two.
//
// Compared with a linked LRU list, seeing a hash costs one or two map
// lookups, no allocation, and leaves no pointers for the garbage collector
// to scan.
type hashCache struct {
	mu        sync.Mutex
	size      int
	cur, prev map[[32]byte]struct{}
}

func newHashCache(size int) *hashCache {
	return &hashCache{size: size, cur: make(map[[32]byte]struct{}, size), prev: make(map[[32]byte]struct{}, size)}
}

// reset forgets every hash. It keeps the maps and their room: the rejected
// cache is reset after every block, and is nearly always empty by then.
func (c *hashCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[[32]byte]struct{}{c.cur, c.prev} {
		if len(m) > 0 {
			clear(m)
		}
	}
}

// push records hash as the most recently seen and reports whether it was new.
func (c *hashCache) push(hash [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[hash]; ok {
		return false
	}
	_, old := c.prev[hash]
	if old {
		delete(c.prev, hash)
	}
	if len(c.cur) >= c.size {
		c.prev, c.cur = c.cur, c.prev
		clear(c.cur)
	}
	c.cur[hash] = struct{}{}
	return !old
}

// contains reports whether hash is remembered, without making it the most
// recent.
func (c *hashCache) contains(hash [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, inCur := c.cur[hash]
	_, inPrev := c.prev[hash]
	return inCur || inPrev
}

// remove forgets hash.
func (c *hashCache) remove(hash [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, hash)
	delete(c.prev, hash)
}

// len is how many hashes the cache holds.
func (c *hashCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}
