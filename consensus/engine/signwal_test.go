package engine_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// releaseCheck watches one node's broadcasts and checks, as each own
// message leaves, that the signer's saved state (read from its file)
// covers it: the signer's save comes before the release.
type releaseCheck struct {
	id, statePath string
	priv          []byte

	mu         sync.Mutex
	sentVotes  int
	lastVote   privval.HRS
	violations []string
}

func (rc *releaseCheck) observe(from string, msg any) {
	if from != rc.id {
		return
	}
	var hrs privval.HRS
	switch m := msg.(type) {
	case engine.VoteMsg:
		step := privval.StepPrevote
		if m.Vote.Type == types.PrecommitType {
			step = privval.StepPrecommit
		}
		hrs = privval.HRS{Height: m.Vote.Height, Round: m.Vote.Round, Step: step}
	case engine.ProposalMsg:
		hrs = privval.HRS{Height: m.Proposal.Height, Round: m.Proposal.Round, Step: privval.StepPropose}
	default:
		return
	}
	// The node's engine is blocked in this broadcast, so its signer is not
	// writing the file.
	pv, err := privval.NewFilePV(rc.priv, rc.statePath)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case err != nil:
		rc.violations = append(rc.violations, fmt.Sprintf("sending %s: %v", hrs, err))
	case pv.LastSigned().Compare(hrs) < 0:
		rc.violations = append(rc.violations, fmt.Sprintf("sent %s while the signer's saved state is at %s", hrs, pv.LastSigned()))
	}
	if _, ok := msg.(engine.VoteMsg); ok {
		rc.sentVotes++
		rc.lastVote = hrs
	}
}

func (rc *releaseCheck) votes() (int, privval.HRS) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.sentVotes, rc.lastVote
}

// The WAL's sync and the signer's save of an own vote run together, so a
// crash can leave the vote in the WAL while the signer's saved state lacks
// it. The restarted node re-signs such a vote, saving it, before it sends
// it again.
func TestOwnVoteInWALIsSavedBySignerBeforeItIsResent(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 9)
		nd := c.nodes[0]
		rc := &releaseCheck{id: nd.id, statePath: filepath.Join(nd.dir, "priv_validator_state.json"), priv: nd.priv}
		c.net.Observe(rc.observe)
		c.startAll()
		c.awaitHeight(2, 30*time.Second)
		// Alone, the node cannot finish its height; it signs a vote there and
		// waits.
		for _, other := range c.nodes[1:] {
			c.stop(other)
		}
		h := nd.height() + 1
		await(t, 30*time.Second, "an own vote at the unfinished height", func() bool {
			_, last := rc.votes()
			return last.Height == h
		})
		c.stop(nd)
		pv, err := privval.NewFilePV(nd.priv, rc.statePath)
		if err != nil {
			t.Fatal(err)
		}
		signed := pv.LastSigned()
		if signed.Height != h {
			t.Fatalf("signer at %s, want the unfinished height %d", signed, h)
		}
		// The crash lost the signer's saves: here all of them.
		if err := privval.ResetState(rc.statePath, true); err != nil {
			t.Fatal(err)
		}
		before, _ := rc.votes()
		c.start(nd)
		await(t, 30*time.Second, "the logged votes sent again", func() bool {
			n, last := rc.votes()
			return n > before && last.Height == signed.Height
		})
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.violations) > 0 {
			t.Fatalf("%d messages sent before the signer saved them, first: %s", len(rc.violations), rc.violations[0])
		}
	})
}
