package engine_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// flakySigner stands for a remote signer whose first request for each
// vote (height, round and type) fails with privval.ErrRemoteSigner and
// whose later requests sign. It records a request for the same vote with
// another block after the failure: a signer that did not sign holds no
// earlier signature to give back, so such a request would get a new one,
// for a block the core did not choose.
type flakySigner struct {
	privval.Signer
	mu      sync.Mutex
	first   map[privval.HRS]types.BlockID
	failed  int
	reasked []string
}

func (s *flakySigner) SignVote(chainID string, v *types.Vote) error {
	return s.SignVoteAlongside(chainID, v, nil)
}

func (s *flakySigner) SignVoteAlongside(chainID string, v *types.Vote, alongside func() error) error {
	step := privval.StepPrevote
	if v.Type == types.PrecommitType {
		step = privval.StepPrecommit
	}
	hrs := privval.HRS{Height: v.Height, Round: v.Round, Step: step}
	s.mu.Lock()
	id, asked := s.first[hrs]
	if !asked {
		s.first[hrs] = v.BlockID
		s.failed++
		s.mu.Unlock()
		return fmt.Errorf("%w: no answer to the sign request within 300ms", privval.ErrRemoteSigner)
	}
	if id != v.BlockID {
		s.reasked = append(s.reasked, fmt.Sprintf("%s asked for block %v after the request for %v failed", hrs, v.BlockID, id))
	}
	s.mu.Unlock()
	return s.Signer.SignVoteAlongside(chainID, v, alongside)
}

// TestVoteARemoteSignerFailedToSignIsNotAskedForAnotherBlock: the engine
// looks for a vote the signer signed before a crash (with another block
// than the one asked for) only when the signer's double-sign guard refused
// the vote; when a remote signer merely failed, the vote is left unsent,
// and no vote for another block is asked for in its place.
func TestVoteARemoteSignerFailedToSignIsNotAskedForAnotherBlock(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 73)
		flaky := &flakySigner{first: map[privval.HRS]types.BlockID{}}
		c.wrapSigner("n0", func(s privval.Signer) privval.Signer { flaky.Signer = s; return flaky })
		c.startAll()
		c.awaitHeight(4, time.Minute)
		flaky.mu.Lock()
		defer flaky.mu.Unlock()
		if flaky.failed == 0 {
			t.Fatal("no sign request failed: the test no longer tests a failing remote signer")
		}
		for _, r := range flaky.reasked {
			t.Error(r)
		}
	})
}

// wrapSigner makes node id sign through wrap of its signer.
func (c *cluster) wrapSigner(id string, wrap func(privval.Signer) privval.Signer) {
	c.signer = func(node string, s privval.Signer) privval.Signer {
		if node != id {
			return s
		}
		return wrap(s)
	}
}
