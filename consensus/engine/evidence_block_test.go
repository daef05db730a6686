package engine_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// vectorEvidence is the first duplicate-vote evidence CometBFT's code wrote
// into types/testdata (it passes ValidateBasic; its validator is not in the
// test cluster, which the fake pools below do not check).
func vectorEvidence(t *testing.T) types.Evidence {
	t.Helper()
	b, err := os.ReadFile("../../types/testdata/cometbft_evidence_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Duplicates []struct {
			Evidence string `json:"evidence"`
		} `json:"duplicate_votes"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	bz, err := hex.DecodeString(v.Duplicates[0].Evidence)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := types.DecodeEvidence(bz)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// fakePool is an evidence pool that proposes what it holds until it is
// marked committed, and answers CheckBlockEvidence with refuse.
type fakePool struct {
	mu        sync.Mutex
	pending   types.EvidenceList
	refuse    error
	checked   int
	committed map[int64]types.EvidenceList
}

func (p *fakePool) Add(types.Evidence) error { return nil }

func (p *fakePool) Pending(int64) types.EvidenceList {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(types.EvidenceList(nil), p.pending...)
}

func (p *fakePool) CheckBlockEvidence(types.EvidenceList) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checked++
	return p.refuse
}

func (p *fakePool) MarkCommitted(h int64, l types.EvidenceList) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.committed == nil {
		p.committed = map[int64]types.EvidenceList{}
	}
	p.committed[h] = l
	p.pending = nil
	return nil
}

// evidenceCluster is a 4-node cluster whose nodes have fake pools refusing
// with refuse; n0's holds ev.
func evidenceCluster(t *testing.T, ev types.Evidence, refuse error) (*cluster, map[string]*fakePool) {
	c := newCluster(t, 4, 31)
	pools := map[string]*fakePool{}
	for _, nd := range c.nodes {
		pools[nd.id] = &fakePool{refuse: refuse}
	}
	pools["n0"].pending = types.EvidenceList{ev}
	c.evidence = func(id string) engine.EvidencePool { return pools[id] }
	c.startAll()
	return c, pools
}

// blocksWithEvidence returns the heights up to top of nd's blocks that
// hold evidence.
func blocksWithEvidence(t *testing.T, nd *node, top int64) []int64 {
	t.Helper()
	var out []int64
	for h := int64(1); h <= top; h++ {
		b, err := nd.store.LoadBlock(h)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Evidence) > 0 {
			out = append(out, h)
		}
	}
	return out
}

// TestEvidenceCommittedOnce: the proposer puts its pool's evidence in its
// block; the block commits; every node marks it committed at that height
// and tells the application (ABCI Misbehavior, which kvstore records in a
// misbehavior event); it is not proposed again.
func TestEvidenceCommittedOnce(t *testing.T) {
	simTest(t, func(t *testing.T) {
		ev := vectorEvidence(t)
		c, pools := evidenceCluster(t, ev, nil)
		c.awaitHeight(8, time.Minute)
		top := c.checkSameChain()
		heights := blocksWithEvidence(t, c.nodes[0], top)
		if len(heights) != 1 {
			t.Fatalf("blocks with evidence at heights %v, want exactly one", heights)
		}
		h := heights[0]
		for _, nd := range c.nodes {
			nd.mu.Lock()
			store := nd.store
			nd.mu.Unlock()
			b, err := store.LoadBlock(h)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Evidence) != 1 || b.Evidence[0].Hash() != ev.Hash() || b.Header.EvidenceHash != (types.EvidenceList{ev}).Hash() {
				t.Fatalf("%s: block %d holds %v, want the pool's evidence", nd.id, h, b.Evidence)
			}
			p := pools[nd.id]
			p.mu.Lock()
			got := p.committed[h]
			p.mu.Unlock()
			if len(got) != 1 || got[0].Hash() != ev.Hash() {
				t.Fatalf("%s: marked %v committed at height %d, want the evidence", nd.id, got, h)
			}
			raw, err := store.LoadFinalizeBlockResponse(h)
			if err != nil {
				t.Fatal(err)
			}
			var resp abci.ResponseFinalizeBlock
			if err := resp.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			if len(resp.Events) != 1 || resp.Events[0].Type != "misbehavior" {
				t.Fatalf("%s: FinalizeBlock events at height %d = %+v, want the app's misbehavior event", nd.id, h, resp.Events)
			}
		}
	})
}

// TestRefusedEvidenceNotCommitted: a proposal whose evidence the pools
// refuse (expired, say) is not voted for; the chain goes on without it.
func TestRefusedEvidenceNotCommitted(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c, pools := evidenceCluster(t, vectorEvidence(t), errors.New("evidence: expired"))
		c.awaitHeight(8, time.Minute)
		top := c.checkSameChain()
		if heights := blocksWithEvidence(t, c.nodes[0], top); len(heights) != 0 {
			t.Fatalf("blocks with refused evidence committed at heights %v", heights)
		}
		checked := 0
		for _, p := range pools {
			p.mu.Lock()
			checked += p.checked
			p.mu.Unlock()
		}
		if checked == 0 {
			t.Fatal("no pool was asked about the proposed evidence: n0 never proposed it")
		}
	})
}
