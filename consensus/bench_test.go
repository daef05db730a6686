package consensus

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// BenchmarkHeight measures the core alone deciding one height with n equal
// validators: StartHeight, the proposal and its block, then every
// validator's prevote and precommit through one State (signatures are the
// engine's business and not checked here).
func BenchmarkHeight(b *testing.B) {
	for _, n := range []int{4, 16, 100} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			powers := make([]int64, n)
			for i := range powers {
				powers[i] = 10
			}
			vals := newTestValidators(b, powers...)
			self := notProposer(b, vals, 0)
			id := blockID("bench")
			f := &fixture{t: b, vals: vals, self: self, now: testT0}
			var votes []Event
			for _, typ := range []types.SignedMsgType{types.PrevoteType, types.PrecommitType} {
				for i := range int32(n) {
					votes = append(votes, VoteReceived{Vote: f.vote(typ, i, 0, id), Now: f.now})
				}
			}
			events := append([]Event{
				StartHeight{Height: testHeight, Validators: vals, Now: f.now},
				ProposalReceived{Proposal: &types.Proposal{Height: testHeight, Round: 0, POLRound: -1, BlockID: id, Signature: make([]byte, ed25519.SignatureSize)}, Now: f.now},
				ValueReceived{Height: testHeight, BlockID: id, Now: f.now},
				ValidityChecked{Height: testHeight, BlockID: id, Valid: true, Now: f.now},
			}, votes...)
			b.ReportAllocs()
			for b.Loop() {
				s := New(vals.Validators[self].Address, testTimeouts())
				decided := 0
				for _, ev := range events {
					acts, err := s.Step(ev)
					if err != nil {
						b.Fatal(err)
					}
					decided += len(actionsOf[Decide](acts))
				}
				if decided != 1 {
					b.Fatalf("decided %d times, want once", decided)
				}
			}
		})
	}
}
