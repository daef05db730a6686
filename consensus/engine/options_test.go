package engine_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// A validator update committed at height H takes effect at H+2, with the
// same sets (and proposer priorities) on every node.
func TestValidatorUpdateAppliesTwoHeightsLater(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 12)
		c.startAll()
		c.awaitHeight(2, 30*time.Second)
		target := c.nodes[3]
		pub := target.priv.Public().(ed25519.PublicKey)
		tx := kvstore.ValidatorTx(pub, 20)
		if err := c.nodes[0].submit(tx); err != nil {
			t.Fatal(err)
		}
		await(t, 30*time.Second, "the validator tx to commit", func() bool { return c.nodes[0].hasTx(tx) })
		h := c.nodes[0].txHeight(tx)
		c.awaitHeight(h+3, 30*time.Second)
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
	})
}

// With CreateEmptyBlocks off, proposers wait for txs: no block is made
// while the mempools are empty, and one is as soon as a tx arrives.
func TestNoEmptyBlocks(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 13)
		c.memStore = true
		c.cfg = func(cfg *engine.Config) {
			cfg.CreateEmptyBlocks = false
			cfg.Timeouts = consensus.Timeouts{
				Propose: 50 * time.Millisecond, ProposeDelta: 10 * time.Millisecond,
				Prevote: 20 * time.Millisecond, PrevoteDelta: 10 * time.Millisecond,
				Precommit: 20 * time.Millisecond, PrecommitDelta: 10 * time.Millisecond,
			}
		}
		c.startAll()
		await(t, 30*time.Second, "round 3 of height 1", func() bool {
			s := c.nodes[0].ep.Status()
			return s.Round >= 3 || s.Height > 1
		})
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
		c.awaitHeight(1, 30*time.Second)
		b, err := c.nodes[0].store.LoadBlock(1)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Data.Txs) != 1 {
			t.Fatalf("block 1 has %d txs, want 1", len(b.Data.Txs))
		}
		// Height 2 starts with empty mempools again: no block until a tx.
		start := c.nodes[0].ep.Status()
		await(t, 30*time.Second, "three more rounds", func() bool {
			s := c.nodes[0].ep.Status()
			return s.Height > start.Height || s.Round >= 3
		})
		if h := c.nodes[0].height(); h != 1 {
			t.Fatalf("committed height %d, want 1", h)
		}
	})
}

// The engines' timers all run on the injected clock: with a fake clock that
// only moves when the test advances it, the network commits.
func TestEnginesOnFakeClock(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 14)
		c.memStore = true
		clock := engine.NewFakeClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		c.clock = clock
		c.cfg = func(cfg *engine.Config) { cfg.RebroadcastInterval = time.Hour }
		for _, nd := range c.nodes {
			c.start(nd)
		}
		await(t, 30*time.Second, "height 5 on the fake clock", func() bool {
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
	})
}

// stepTimers is the Timers of an engine a test steps: each timer is kept
// with its deadline on the fake clock until fireDue hands it back.
type stepTimers struct {
	clock *engine.FakeClock
	due   []dueTimer
}

type dueTimer struct {
	at time.Time
	t  engine.Timer
}

func (s *stepTimers) Schedule(d time.Duration, t engine.Timer) {
	s.due = append(s.due, dueTimer{at: s.clock.Now().Add(d), t: t})
}

// fireDue moves the clock forward by d and fires, in deadline order, the
// timers due by then, including those they set.
func (s *stepTimers) fireDue(t *testing.T, eng *engine.Engine, d time.Duration) {
	t.Helper()
	end := s.clock.Now().Add(d)
	for {
		next := -1
		for i, x := range s.due {
			if !x.at.After(end) && (next < 0 || x.at.Before(s.due[next].at)) {
				next = i
			}
		}
		if next < 0 {
			break
		}
		x := s.due[next]
		s.due = append(s.due[:next], s.due[next+1:]...)
		s.clock.Advance(x.at.Sub(s.clock.Now()))
		if err := eng.Fire(context.Background(), x.t); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Advance(end.Sub(s.clock.Now()))
}

// A lone validator, stepped: alone it cannot gather prevotes, so it moves
// through the round exactly as far as its timers take it, and no further.
// Stepping needs no goroutine and no wait.
func TestLoneEngineMovesOnlyOnItsTimers(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 14)
		c.memStore = true
		nd := c.nodes[0]
		clock := engine.NewFakeClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		timers := &stepTimers{clock: clock}
		nd.clock, nd.timers = clock, timers
		c.cfg = func(cfg *engine.Config) { cfg.RebroadcastInterval = time.Hour }
		eng := c.stepped(nd)
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s := eng.Position(); s.Height != 1 || s.Round != 0 || s.Step != uint8(consensus.StepPropose) {
			t.Fatalf("after Start: %+v, want height 1, round 0, propose step", s)
		}
		timers.fireDue(t, eng, fastTimeouts().Propose-time.Millisecond)
		if s := eng.Position(); s.Round != 0 || s.Step != uint8(consensus.StepPropose) {
			t.Fatalf("1 ms before the propose timeout: %+v", s)
		}
		timers.fireDue(t, eng, time.Millisecond)
		if s := eng.Position(); s.Round != 0 || s.Step != uint8(consensus.StepPrevote) {
			t.Fatalf("at the propose timeout: %+v, want round 0, prevote step", s)
		}
		// Without prevotes of others no prevote timeout is set: an hour later
		// (the rebroadcast timer fires) it has not moved.
		timers.fireDue(t, eng, time.Hour)
		if s := eng.Position(); s.Round != 0 || s.Step != uint8(consensus.StepPrevote) {
			t.Fatalf("an hour later: %+v, want still round 0, prevote step", s)
		}
	})
}
