package engine_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/mempool"
	"github.com/bftnode/bftnode/types"
)

// A validator update committed at height H takes effect at H+2, with the
// same sets (and proposer priorities) on every node.
func TestValidatorUpdateAppliesTwoHeightsLater(t *testing.T) {
	c := newCluster(t, 4, 12)
	c.startAll()
	c.waitHeight(2, 30*time.Second)
	target := c.nodes[3]
	pub := target.priv.Public().(ed25519.PublicKey)
	tx := kvstore.ValidatorTx(pub, 20)
	if err := c.nodes[0].submit(tx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the validator tx to commit", func() bool { return c.nodes[0].hasTx(tx) })
	loc, ok, err := c.nodes[0].store.TxByHash(mempool.TxHash(tx))
	if err != nil || !ok {
		t.Fatalf("tx location: %v %v", ok, err)
	}
	h := loc.Height
	c.waitHeight(h+3, 30*time.Second)
	c.checkSameChain()
	for _, nd := range c.nodes {
		for height, want := range map[int64]int64{h: 10, h + 1: 10, h + 2: 20, h + 3: 20} {
			vs, err := nd.store.LoadValidators(height)
			if err != nil {
				t.Fatal(err)
			}
			_, v := vs.ByAddress(types.AddressOf(pub))
			if v == nil || v.VotingPower != want {
				t.Errorf("%s: validator at height %d = %+v, want power %d", nd.id, height, v, want)
			}
		}
	}
}

// With CreateEmptyBlocks off, proposers wait for txs: no block is made
// while the mempools are empty, and one is as soon as a tx arrives.
func TestNoEmptyBlocks(t *testing.T) {
	c := newCluster(t, 4, 13)
	c.cfg = func(cfg *engine.Config) {
		cfg.CreateEmptyBlocks = false
		cfg.Timeouts = consensus.Timeouts{
			Propose: 50 * time.Millisecond, ProposeDelta: 10 * time.Millisecond,
			Prevote: 20 * time.Millisecond, PrevoteDelta: 10 * time.Millisecond,
			Precommit: 20 * time.Millisecond, PrecommitDelta: 10 * time.Millisecond,
		}
	}
	c.startAll()
	waitFor(t, 30*time.Second, "round 3 of height 1", func() bool { return c.nodes[0].ep.Status().Round >= 3 })
	for _, nd := range c.nodes {
		if h := nd.height(); h != 0 {
			t.Fatalf("%s committed height %d with empty mempools", nd.id, h)
		}
	}
	for _, nd := range c.nodes {
		if err := nd.submit([]byte("x=1")); err != nil {
			t.Fatal(err)
		}
	}
	c.waitHeight(1, 30*time.Second)
	b, err := c.nodes[0].store.LoadBlock(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Data.Txs) != 1 {
		t.Fatalf("block 1 has %d txs, want 1", len(b.Data.Txs))
	}
	// Height 2 starts with empty mempools again: no block until a tx.
	start := c.nodes[0].ep.Status()
	waitFor(t, 30*time.Second, "three more rounds", func() bool {
		s := c.nodes[0].ep.Status()
		return s.Height > start.Height || s.Round >= 3
	})
	if h := c.nodes[0].height(); h != 1 {
		t.Fatalf("committed height %d, want 1", h)
	}
}

// The engines' timers all run on the injected clock: with a fake clock that
// only moves when the test advances it, the network still commits, and a
// lone validator moves through rounds exactly as far as the clock says.
func TestEnginesOnFakeClock(t *testing.T) {
	c := newCluster(t, 4, 14)
	clock := engine.NewFakeClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	c.clock = clock
	c.cfg = func(cfg *engine.Config) { cfg.RebroadcastInterval = time.Hour }
	c.start(c.nodes[0])
	waitFor(t, 10*time.Second, "the lone node to start height 1", func() bool { return c.nodes[0].ep.Status().Height == 1 })
	// Alone, it cannot gather prevotes: each propose timeout it prevotes
	// nil and waits. No amount of real time moves it.
	time.Sleep(50 * time.Millisecond)
	if s := c.nodes[0].ep.Status(); s.Round != 0 || s.Step != uint8(consensus.StepPropose) {
		t.Fatalf("without clock advance: %+v", s)
	}
	clock.Advance(fastTimeouts().Propose)
	waitFor(t, 10*time.Second, "prevote step after the propose timeout", func() bool {
		return c.nodes[0].ep.Status().Step == uint8(consensus.StepPrevote)
	})
	for _, nd := range c.nodes[1:] {
		c.start(nd)
	}
	waitFor(t, 30*time.Second, "height 5 on the fake clock", func() bool {
		clock.Advance(10 * time.Millisecond)
		for _, nd := range c.nodes {
			if nd.height() < 5 {
				return false
			}
		}
		return true
	})
	c.checkSameChain()
	b, err := c.nodes[0].store.LoadBlock(5)
	if err != nil {
		t.Fatal(err)
	}
	if b.Header.Time.Before(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || b.Header.Time.After(clock.Now()) {
		t.Fatalf("block time %v is not from the fake clock (now %v)", b.Header.Time, clock.Now())
	}
}
