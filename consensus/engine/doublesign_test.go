package engine_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/types"
)

// The proposer of height 1 round 0 proposes and prevotes alone, then loses
// its whole WAL and restarts. Its fresh core builds a new block for the
// same round and, after the propose timeout, wants to prevote nil: the
// signer's last-sign state refuses both, so no conflicting proposal or vote
// ever leaves the node, and the network still commits once its peers start.
func TestLostWALCannotCauseDoubleSign(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 15)
		var mu sync.Mutex
		proposals := map[int32]map[types.BlockID]bool{}
		votes := &voteLog{votes: map[voteKey]types.BlockID{}}
		c.net.Observe(func(from string, msg any) {
			votes.observe(from, msg)
			if m, ok := msg.(engine.ProposalMsg); ok && m.Proposal.Height == 1 {
				mu.Lock()
				if proposals[m.Proposal.Round] == nil {
					proposals[m.Proposal.Round] = map[types.BlockID]bool{}
				}
				proposals[m.Proposal.Round][m.Proposal.BlockID] = true
				mu.Unlock()
			}
		})
		var p *node
		for _, nd := range c.nodes {
			if types.AddressOf(nd.priv.Public().(ed25519.PublicKey)) == c.genesis.Validators.Proposer().Address {
				p = nd
			}
		}
		if p == nil {
			t.Fatal("no proposer among the nodes")
		}
		// The proposer is stepped on its timers: no goroutine, no wait.
		clock := engine.NewFakeClock(c.genesis.Time)
		prevoted := func(eng *engine.Engine) {
			t.Helper()
			if s := eng.Position(); s.Height != 1 || s.Round != 0 || s.Step != uint8(consensus.StepPrevote) {
				t.Fatalf("proposer at %+v, want height 1, round 0, prevote step", s)
			}
		}
		timers := &stepTimers{clock: clock}
		p.clock, p.timers = clock, timers
		eng := c.stepped(p)
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		prevoted(eng) // it proposed and prevoted its block at once
		c.stop(p)
		if err := os.RemoveAll(filepath.Join(p.dir, "wal")); err != nil {
			t.Fatal(err)
		}
		timers = &stepTimers{clock: clock}
		p.timers = timers
		eng = c.stepped(p)
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		timers.fireDue(t, eng, fastTimeouts().Propose)
		prevoted(eng)
		c.stop(p)
		p.clock, p.timers = nil, nil
		mu.Lock()
		if n := len(proposals[0]); n != 1 {
			t.Fatalf("%d different blocks proposed for height 1 round 0", n)
		}
		mu.Unlock()
		for _, nd := range c.nodes {
			c.start(nd)
		}
		c.awaitHeight(2, 30*time.Second)
		votes.mu.Lock()
		defer votes.mu.Unlock()
		if len(votes.conflicts) > 0 {
			t.Fatalf("conflicting votes: %v", votes.conflicts)
		}
	})
}
