package statesync

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
)

// Snapshot is one snapshot an application lists (ABCI's Snapshot), as a
// peer advertised it.
type Snapshot struct {
	Height   uint64
	Format   uint32
	Chunks   uint32
	Hash     []byte
	Metadata []byte
}

// String names the snapshot in logs and errors.
func (s Snapshot) String() string {
	return fmt.Sprintf("height %d format %d (%d chunks, hash %X)", s.Height, s.Format, s.Chunks, s.Hash)
}

type snapshotKey [sha256.Size]byte

// key identifies a snapshot by everything peers advertise of it: two peers
// advertising the same key serve the same snapshot.
func (s Snapshot) key() snapshotKey {
	h := sha256.New()
	var fixed [16]byte
	binary.BigEndian.PutUint64(fixed[:8], s.Height)
	binary.BigEndian.PutUint32(fixed[8:12], s.Format)
	binary.BigEndian.PutUint32(fixed[12:], s.Chunks)
	h.Write(fixed[:])
	for _, b := range [][]byte{s.Hash, s.Metadata} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var k snapshotKey
	h.Sum(k[:0])
	return k
}

// Bounds of the pool, so that peers cannot make it grow without limit.
const (
	// MaxSnapshotsPerPeer is how many snapshots a peer's answer may list;
	// more is a bad answer.
	MaxSnapshotsPerPeer = 10
	// MaxSnapshotBytes bounds a snapshot's hash and metadata together.
	MaxSnapshotBytes = 64 << 10
)

// pool holds the snapshots peers advertised, which peers serve each, and
// what was rejected (snapshots, formats, peers), so that it is not tried
// again. It is not safe for concurrent use: the Syncer's goroutine owns it.
type pool struct {
	snapshots map[snapshotKey]Snapshot
	peers     map[snapshotKey][]string // sorted
	byPeer    map[string][]snapshotKey

	rejected        map[snapshotKey]bool
	rejectedFormats map[uint32]bool
	rejectedPeers   map[string]bool
}

func newPool() *pool {
	return &pool{
		snapshots:       make(map[snapshotKey]Snapshot),
		peers:           make(map[snapshotKey][]string),
		byPeer:          make(map[string][]snapshotKey),
		rejected:        make(map[snapshotKey]bool),
		rejectedFormats: make(map[uint32]bool),
		rejectedPeers:   make(map[string]bool),
	}
}

// add records that peer serves s, and reports whether s is new to the pool.
// Snapshots already rejected, of a rejected format, from a rejected peer,
// or past the peer's share are not added.
func (p *pool) add(peer string, s Snapshot) bool {
	k := s.key()
	if p.rejected[k] || p.rejectedFormats[s.Format] || p.rejectedPeers[peer] ||
		len(p.byPeer[peer]) >= MaxSnapshotsPerPeer || slices.Contains(p.byPeer[peer], k) {
		return false
	}
	p.byPeer[peer] = append(p.byPeer[peer], k)
	ps := p.peers[k]
	i, _ := slices.BinarySearch(ps, peer)
	p.peers[k] = slices.Insert(ps, i, peer)
	if _, ok := p.snapshots[k]; ok {
		return false
	}
	p.snapshots[k] = s
	return true
}

// ranked lists the candidate snapshots best first: highest height, then
// highest format, then most peers, then by hash (so the order is total).
func (p *pool) ranked() []Snapshot {
	out := make([]Snapshot, 0, len(p.snapshots))
	for k, s := range p.snapshots {
		if len(p.peers[k]) > 0 {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Height != b.Height:
			return a.Height > b.Height
		case a.Format != b.Format:
			return a.Format > b.Format
		}
		na, nb := len(p.peers[a.key()]), len(p.peers[b.key()])
		if na != nb {
			return na > nb
		}
		return bytes.Compare(a.Hash, b.Hash) < 0
	})
	return out
}

// best is the best candidate, false when there is none.
func (p *pool) best() (Snapshot, bool) {
	r := p.ranked()
	if len(r) == 0 {
		return Snapshot{}, false
	}
	return r[0], true
}

// peersOf lists the peers serving s that are not rejected, sorted.
func (p *pool) peersOf(s Snapshot) []string {
	return slices.Clone(p.peers[s.key()])
}

// reject removes s for good.
func (p *pool) reject(s Snapshot) {
	k := s.key()
	p.rejected[k] = true
	p.remove(k)
}

// rejectFormat removes every snapshot of format f, for good.
func (p *pool) rejectFormat(f uint32) {
	p.rejectedFormats[f] = true
	for k, s := range p.snapshots {
		if s.Format == f {
			p.remove(k)
		}
	}
}

// rejectPeer forgets peer and refuses its snapshots from now on. A
// snapshot no other peer serves is left without peers, so not ranked.
func (p *pool) rejectPeer(peer string) {
	p.rejectedPeers[peer] = true
	p.removePeer(peer)
}

// removePeer forgets what peer advertised (it disconnected); it may
// advertise again.
func (p *pool) removePeer(peer string) {
	for _, k := range p.byPeer[peer] {
		ps := p.peers[k]
		if i, ok := slices.BinarySearch(ps, peer); ok {
			p.peers[k] = slices.Delete(ps, i, i+1)
		}
	}
	delete(p.byPeer, peer)
}

func (p *pool) remove(k snapshotKey) {
	for _, peer := range p.peers[k] {
		p.byPeer[peer] = slices.DeleteFunc(p.byPeer[peer], func(x snapshotKey) bool { return x == k })
	}
	delete(p.peers, k)
	delete(p.snapshots, k)
}
