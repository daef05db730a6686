package types

import (
	"errors"
	"testing"
)

// A vote names no block (nil) or a whole one: CometBFT's Vote.ValidateBasic
// refuses a block ID with a hash but no part set, or a part set but no
// hash, and so must we (evidence built on such a vote would not verify
// there).
func TestVoteBlockIDNilOrComplete(t *testing.T) {
	h := Hash{1}
	for _, tc := range []struct {
		name string
		id   BlockID
		ok   bool
	}{
		{"nil", BlockID{}, true},
		{"complete", BlockID{Hash: h, PartSetHeader: PartSetHeader{Total: 1, Hash: h}}, true},
		{"hash only", BlockID{Hash: h}, false},
		{"no parts", BlockID{Hash: h, PartSetHeader: PartSetHeader{Hash: h}}, false},
		{"no part root", BlockID{Hash: h, PartSetHeader: PartSetHeader{Total: 1}}, false},
		{"part set only", BlockID{PartSetHeader: PartSetHeader{Total: 1, Hash: h}}, false},
	} {
		v := Vote{Type: PrevoteType, Height: 1, BlockID: tc.id, Signature: make([]byte, 64)}
		err := v.ValidateBasic()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidVote)) {
			t.Errorf("%s: ValidateBasic() = %v", tc.name, err)
		}
	}
}
