package consensus

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// FuzzStep feeds arbitrary event sequences, malformed ones included, to a
// State: it must never panic or loop, refuse bad input only with the
// package's errors, and never sign two votes of one type in one round.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 0, 0, 2, 1, 0, 1, 0, 0, 3, 1, 0, 1, 0, 1})
	f.Add([]byte{4, 0, 0, 1, 0, 0, 4, 1, 0, 1, 0, 0, 4, 2, 0, 1, 0, 0, 5, 0, 0, 1, 2, 0})
	f.Add([]byte{6, 0, 0, 0, 3, 0, 6, 0, 0, 0, 1, 0, 6, 0, 1, 0, 3, 0, 4, 9, 200, 2, 0, 0})
	f.Add([]byte{1, 0, 3, 1, 1, 0, 7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, _ := newFixture(t, 1, weighted...)
		ids := []types.BlockID{nilID, blockID("A"), blockID("B")}
		signed := map[string]bool{}
		for ; len(data) >= 6; data = data[6:] {
			kind, idx, round, val, arg, flag := data[0]%8, int32(int8(data[1])), int32(int8(data[2])), ids[data[3]%3], data[4], data[5]
			var ev Event
			switch kind {
			case 0:
				ev = ProposalReceived{Proposal: &types.Proposal{Height: testHeight, Round: round, POLRound: int32(int8(arg)), BlockID: val}}
			case 1:
				ev = ValueReceived{Height: testHeight, BlockID: val}
			case 2:
				ev = ValidityChecked{Height: testHeight, BlockID: val, Valid: flag%2 == 0}
			case 3:
				ev = ValueReady{Height: testHeight, Round: round, BlockID: val}
			case 4, 5:
				typ := types.SignedMsgType(kind - 3) // prevote, precommit
				if flag%7 == 6 {
					typ = types.SignedMsgType(arg)
				}
				v := fx.vote(typ, 0, round, val)
				v.ValidatorIndex = idx
				if idx >= 0 && int(idx) < fx.vals.Size() {
					v.ValidatorAddress = fx.vals.Validators[idx].Address
				}
				if flag%5 == 4 {
					v.Height = testHeight + int64(int8(arg))
				}
				ev = VoteReceived{Vote: v}
			case 6:
				ev = TimeoutFired{Height: testHeight, Round: round, Step: Step(arg % 4)}
			case 7:
				ev = CommitReceived{Commit: &types.Commit{Height: testHeight + int64(flag%2), Round: round, BlockID: val}}
			}
			acts, err := fx.s.Step(ev)
			if err != nil {
				if !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrUnknownValidator) {
					t.Fatalf("%T refused with %v", ev, err)
				}
				continue
			}
			for _, a := range acts {
				if sv, ok := a.(SignVote); ok {
					k := fmt.Sprintf("%s/%d", sv.Vote.Type, sv.Vote.Round)
					if signed[k] {
						t.Fatalf("signed a second %s", k)
					}
					signed[k] = true
					v := sv.Vote
					if _, err := fx.s.Step(VoteReceived{Vote: &v}); err != nil {
						t.Fatalf("own vote refused: %v", err)
					}
				}
			}
		}
	})
}
