package p2p

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// fakeEvidencePool keeps what it is given in order of arrival, refusing as
// invalid the evidence in forged; it counts the pieces each peer gave it.
type fakeEvidencePool struct {
	mu     sync.Mutex
	list   []types.Evidence
	more   chan struct{}
	forged map[types.Hash]bool
	adds   map[string]int // hash and sender → pieces
}

func newFakeEvidencePool() *fakeEvidencePool {
	return &fakeEvidencePool{more: make(chan struct{}), forged: map[types.Hash]bool{}, adds: map[string]int{}}
}

func (p *fakeEvidencePool) PendingAfter(after uint64, limit int) EvidenceBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := EvidenceBatch{Next: after, Wait: p.more}
	for i := after; i < uint64(len(p.list)) && len(b.Evidence) < limit; i++ {
		b.Evidence = append(b.Evidence, p.list[i])
		b.Next = i + 1
	}
	return b
}

func (p *fakeEvidencePool) AddFromPeer(ev types.Evidence, from string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := ev.Hash()
	p.adds[fmt.Sprintf("%X %s", h, from)]++
	if p.forged[h] {
		return fmt.Errorf("%w: forged %X", ErrInvalidEvidence, h[:4])
	}
	if slices.ContainsFunc(p.list, func(e types.Evidence) bool { return e.Hash() == h }) {
		return nil
	}
	p.list = append(p.list, ev)
	close(p.more)
	p.more = make(chan struct{})
	return nil
}

func (p *fakeEvidencePool) holds(h types.Hash) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.list, func(e types.Evidence) bool { return e.Hash() == h })
}

// added is how many times from gave the pool h.
func (p *fakeEvidencePool) added(h types.Hash, from *Transport) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.adds[fmt.Sprintf("%X %s", h, from.ID())]
}

// testEvidence is well-formed duplicate-vote evidence of validator i at
// height (its signatures are not checked here).
func testEvidence(t *testing.T, i int, height int64) types.Evidence {
	t.Helper()
	vote := func(name string) *types.Vote {
		return &types.Vote{Type: types.PrevoteType, Height: height, Timestamp: time.Unix(1e9, 0).UTC(),
			BlockID:          types.BlockID{Hash: sha256.Sum256([]byte(name)), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte(name + " parts"))}},
			ValidatorAddress: testAddr(i), Signature: fakeSig(name)}
	}
	ev := &types.DuplicateVoteEvidence{VoteA: vote("a"), VoteB: vote("b"), TotalVotingPower: 40, ValidatorPower: 10, Timestamp: time.Unix(1e9, 0).UTC()}
	if ev.ValidateBasic() != nil {
		ev.VoteA, ev.VoteB = ev.VoteB, ev.VoteA
	}
	if err := ev.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	return ev
}

func evidenceNode(t *testing.T, pool *fakeEvidencePool) *Transport {
	return newTestNode(t, func(c *Config) { c.EvidenceSource = pool })
}

// TestEvidenceGossip: evidence in one node's pool, and evidence added to
// it later, reaches the pools of a line of nodes a–b–c (the ends allow one
// peer, so peer exchange does not join them); b is given each piece once,
// by a, and c once, by b; neither sends a piece back to where it came from.
func TestEvidenceGossip(t *testing.T) {
	pools := []*fakeEvidencePool{newFakeEvidencePool(), newFakeEvidencePool(), newFakeEvidencePool()}
	early, late := testEvidence(t, 0, 5), testEvidence(t, 1, 6)
	if err := pools[0].AddFromPeer(early, "test"); err != nil {
		t.Fatal(err)
	}
	end := func(pool *fakeEvidencePool) *Transport {
		return newTestNode(t, func(c *Config) { c.EvidenceSource, c.MaxPeers = pool, 1 })
	}
	a, b, c := end(pools[0]), evidenceNode(t, pools[1]), end(pools[2])
	connect(t, a, b)
	connect(t, c, b)
	waitFor(t, "the early evidence at c", func() bool { return pools[2].holds(early.Hash()) })
	if err := pools[0].AddFromPeer(late, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late evidence at c", func() bool { return pools[2].holds(late.Hash()) })
	// Let any repeat arrive before counting.
	waitTicks(t, 3, a, b, c)
	if hasPeer(a, c.ID()) {
		t.Fatal("a and c are connected: the line is not a line")
	}
	for _, ev := range []types.Evidence{early, late} {
		for _, tc := range []struct {
			name string
			pool *fakeEvidencePool
			from *Transport
			want int
		}{{"b from a", pools[1], a, 1}, {"c from b", pools[2], b, 1}, {"a from b", pools[0], b, 0}, {"b from c", pools[1], c, 0}} {
			if got := tc.pool.added(ev.Hash(), tc.from); got != tc.want {
				t.Errorf("%s: %s given %d times, want %d", tc.name, ev, got, tc.want)
			}
		}
	}
}

// TestInvalidEvidencePenalised: a peer that sends evidence our pool finds
// invalid is banned and disconnected, and the evidence is not kept.
func TestInvalidEvidencePenalised(t *testing.T) {
	honest, liar := newFakeEvidencePool(), newFakeEvidencePool()
	forged := []types.Evidence{testEvidence(t, 2, 7), testEvidence(t, 3, 7)}
	for _, ev := range forged {
		honest.forged[ev.Hash()] = true
		if err := liar.AddFromPeer(ev, "test"); err != nil {
			t.Fatal(err)
		}
	}
	a := evidenceNode(t, honest)
	b := evidenceNode(t, liar)
	connect(t, b, a)
	waitFor(t, "the liar to be banned", func() bool { return a.gater.isBanned(b.ID()) && !hasPeer(a, b.ID()) })
	if honest.added(forged[0].Hash(), b) != 1 || honest.holds(forged[0].Hash()) || honest.holds(forged[1].Hash()) {
		t.Fatal("forged evidence kept")
	}
	if got := a.Stats().Bans; got != 1 {
		t.Errorf("%d bans, want 1", got)
	}
}
