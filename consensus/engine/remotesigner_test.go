package engine_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// unavailableSigner stands for a remote signer that does not sign (it
// refuses, times out, or is not connected) while down is set: every
// request fails with privval.ErrRemoteSigner, as privval.RemoteSigner's do.
type unavailableSigner struct {
	privval.Signer
	down           atomic.Bool
	failed, signed atomic.Int32
}

func (s *unavailableSigner) result(err error) error {
	if err == nil {
		s.signed.Add(1)
	}
	return err
}

func (s *unavailableSigner) refuse() error {
	s.failed.Add(1)
	return fmt.Errorf("%w: no answer to the sign request within 300ms", privval.ErrRemoteSigner)
}

func (s *unavailableSigner) SignVote(chainID string, v *types.Vote) error {
	return s.SignVoteAlongside(chainID, v, nil)
}

func (s *unavailableSigner) SignProposal(chainID string, p *types.Proposal) error {
	return s.SignProposalAlongside(chainID, p, nil)
}

func (s *unavailableSigner) SignVoteAlongside(chainID string, v *types.Vote, alongside func() error) error {
	if s.down.Load() {
		return s.refuse()
	}
	return s.result(s.Signer.SignVoteAlongside(chainID, v, alongside))
}

func (s *unavailableSigner) SignProposalAlongside(chainID string, p *types.Proposal, alongside func() error) error {
	if s.down.Load() {
		return s.refuse()
	}
	return s.result(s.Signer.SignProposalAlongside(chainID, p, alongside))
}

// TestRemoteSignerThatDoesNotSignCostsOnlyItsMessages: while one
// validator's remote signer signs nothing, its engine keeps running and
// following the chain the other three make (its proposer rounds time
// out); once the signer is back, the validator signs again.
func TestRemoteSignerThatDoesNotSignCostsOnlyItsMessages(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 61)
		c.memStore = true
		down := &unavailableSigner{}
		down.down.Store(true)
		c.wrapSigner("n0", func(s privval.Signer) privval.Signer { down.Signer = s; return down })
		c.startAll()
		c.awaitHeight(6, time.Minute)
		if down.failed.Load() == 0 || down.signed.Load() != 0 {
			t.Fatalf("while down: %d requests failed, %d signed; want some failed, none signed", down.failed.Load(), down.signed.Load())
		}
		down.down.Store(false)
		h := c.nodes[0].height()
		await(t, time.Minute, "n0 to sign again", func() bool { return down.signed.Load() > 0 })
		c.awaitHeight(h+3, time.Minute)
		c.checkSameChain()
	})
}
