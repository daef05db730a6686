package mempool

import "sync"

// lruCache remembers the most recently seen tx hashes. Once full, pushing a
// new hash recycles the node of the least recently seen one, so a full cache
// does not allocate.
type lruCache struct {
	mu    sync.Mutex
	size  int
	nodes map[[32]byte]*lruNode
	root  lruNode // sentinel: root.next is the most recent, root.prev the least
}

type lruNode struct {
	hash       [32]byte
	prev, next *lruNode
}

func newLRUCache(size int) *lruCache {
	c := &lruCache{size: size}
	c.reset()
	return c
}

// reset forgets every hash. It keeps the map and its room: the rejected
// cache is reset after every block, and is nearly always empty by then.
func (c *lruCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes == nil {
		c.nodes = make(map[[32]byte]*lruNode, c.size)
	} else if len(c.nodes) > 0 {
		clear(c.nodes)
	}
	c.root.next, c.root.prev = &c.root, &c.root
}

// push records hash as the most recently seen and reports whether it was new.
func (c *lruCache) push(hash [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[hash]; ok {
		c.unlink(n)
		c.linkFront(n)
		return false
	}
	var n *lruNode
	if len(c.nodes) >= c.size {
		n = c.root.prev
		c.unlink(n)
		delete(c.nodes, n.hash)
	} else {
		n = new(lruNode)
	}
	n.hash = hash
	c.nodes[hash] = n
	c.linkFront(n)
	return true
}

// contains reports whether hash is remembered, without making it the most
// recent.
func (c *lruCache) contains(hash [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.nodes[hash]
	return ok
}

// remove forgets hash.
func (c *lruCache) remove(hash [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[hash]; ok {
		c.unlink(n)
		delete(c.nodes, hash)
	}
}

func (c *lruCache) unlink(n *lruNode) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (c *lruCache) linkFront(n *lruNode) {
	n.prev, n.next = &c.root, c.root.next
	c.root.next.prev = n
	c.root.next = n
}
