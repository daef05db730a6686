package types

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// verified remembers the (public key, message, signature) triples this
// process has found valid, so that a vote or proposal checked twice (by p2p
// at the edge, then by the engine; or by each engine of a simulation) costs
// one ed25519 verification. Only valid triples are kept, under the SHA-256
// of all three, so a hit means exactly that triple was verified before.
var verified = sigCache{seen: make(map[[sha256.Size]byte]struct{}, sigCacheSize)}

// sigCacheSize bounds the cache; when full it starts over, which costs
// only repeated verifications. Votes are checked twice within
// milliseconds, so a few thousand entries serve even large sets.
const sigCacheSize = 8192

type sigCache struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
}

// verify reports whether sig is pub's signature of msg.
func (c *sigCache) verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	key := tripleKey(pub, msg, sig)
	c.mu.Lock()
	_, ok := c.seen[key]
	c.mu.Unlock()
	if ok {
		return true
	}
	if !ed25519.Verify(pub, msg, sig) {
		return false
	}
	c.mu.Lock()
	if len(c.seen) >= sigCacheSize {
		clear(c.seen)
	}
	c.seen[key] = struct{}{}
	c.mu.Unlock()
	return true
}

// tripleKey hashes the three parts, each prefixed by its length so that no
// two different triples share an encoding.
func tripleKey(pub ed25519.PublicKey, msg, sig []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, part := range [][]byte{pub, sig, msg} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(part)))])
		h.Write(part)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}
