package types

import (
	"errors"
	"slices"
	"testing"
)

// decodeSignedHeader decodes a tendermint.types.SignedHeader.
func decodeSignedHeader(t *testing.T, b []byte) *SignedHeader {
	t.Helper()
	sh := &SignedHeader{}
	if err := walkFields(b, "signed header", func(field, wire uint64, v []byte) error {
		return decodeSignedHeaderField(sh, field, wire, v)
	}); err != nil {
		t.Fatal(err)
	}
	return sh
}

// TestLightClientAttackJudgedAsCometBFT: for an equivocation, an amnesia
// and a lunatic attack that CometBFT's code built (its
// GetByzantineValidators) and accepted (its VerifyLightClientAttack)
// against a chain's signed headers, bftnode accepts the evidence, chooses
// the same byzantine validators, and builds from the same blocks evidence
// with CometBFT's hash, common height, time and total power. Dropping an
// accused validator is refused.
func TestLightClientAttackJudgedAsCometBFT(t *testing.T) {
	v, vals := loadEvidenceVectors(t)
	var names []string
	for _, j := range v.Judgements {
		names = append(names, j.Name)
		ev, err := DecodeEvidence(j.Evidence)
		if err != nil {
			t.Fatalf("%s: %v", j.Name, err)
		}
		want := ev.(*LightClientAttackEvidence)
		common, trusted := decodeSignedHeader(t, j.Common), decodeSignedHeader(t, j.Trusted)
		if err := want.Verify(v.ChainID, common, trusted, vals); err != nil {
			t.Errorf("%s: CometBFT's evidence refused: %v", j.Name, err)
		}
		byz := want.AccusedValidators(vals, trusted)
		if !slices.EqualFunc(byz, want.ByzantineValidators, func(a, b *Validator) bool { return a.Address == b.Address && a.VotingPower == b.VotingPower }) {
			t.Errorf("%s: byzantine validators %v, CometBFT's %v", j.Name, byz, want.ByzantineValidators)
		}
		built := NewLightClientAttackEvidence(want.ConflictingBlock, &LightBlock{SignedHeader: *trusted, ValidatorSet: vals}, &LightBlock{SignedHeader: *common, ValidatorSet: vals})
		if built.Hash() != want.Hash() || built.CommonHeight != want.CommonHeight || !built.Timestamp.Equal(want.Timestamp) || built.TotalVotingPower != want.TotalVotingPower || len(built.ByzantineValidators) != len(want.ByzantineValidators) {
			t.Errorf("%s: built %v at %d, %s, power %d; CometBFT's %v at %d, %s, power %d", j.Name,
				built, built.CommonHeight, built.Timestamp, built.TotalVotingPower, want, want.CommonHeight, want.Timestamp, want.TotalVotingPower)
		}
		if len(want.ByzantineValidators) > 0 {
			short := *want
			short.ByzantineValidators = want.ByzantineValidators[1:]
			if err := short.Verify(v.ChainID, common, trusted, vals); !errors.Is(err, ErrInvalidEvidence) {
				t.Errorf("%s: an accused validator left out: %v, want refused", j.Name, err)
			}
		}
	}
	if !slices.Equal(names, []string{"equivocation", "amnesia", "lunatic"}) {
		t.Fatalf("judgement vectors %v, want equivocation, amnesia and lunatic", names)
	}
}
