package light

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// signedAt is c's signed header at h, as a full node of that chain has it.
func (c *chain) signedAt(h int64) *types.SignedHeader {
	return &types.SignedHeader{Header: c.blocks[h].Header, Commit: c.blocks[h].Commit}
}

// TestClientReportsAttackEvidence: a witness on a fork (the validators of
// keys 2 and 3, in both the sets of heights up to 10 and up to 20, sign
// other headers from height 11 on) is caught; each side gets the evidence
// against the other, which its own chain verifies, naming keys 2 and 3.
func TestClientReportsAttackEvidence(t *testing.T) {
	c, fork := genChain(t, testChainID, 30, threeEras, sameAppHash), forkAfter10(t)
	primary, forked, honest := newProvider("primary", c, 30), newProvider("forked", fork, 30), newProvider("honest", c, 30)
	primary.refuseReports = 1 // as a node does evidence about its latest block: the report is retried
	client, _ := newTestClient(t, primary, []Provider{honest, forked}, false, "")
	_, err := client.VerifyLightBlockAtHeight(context.Background(), 18)
	var conflict *ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("verify with a forked witness: %v, want a *ConflictError", err)
	}
	byzantine := []types.Address{types.AddressOf(key(2).Public().(ed25519.PublicKey)), types.AddressOf(key(3).Public().(ed25519.PublicKey))}
	slices.SortFunc(byzantine, func(a, b types.Address) int { return bytes.Compare(a[:], b[:]) }) // equal powers: by address
	for _, side := range []struct {
		name       string
		ev         *types.LightClientAttackEvidence
		to         *memProvider
		attacker   *chain // whose block conflicts
		truth      *chain // the chain that judges it
		reportedTo string
	}{
		{"against the primary", conflict.AgainstPrimary, forked, c, fork, "forked"},
		{"against the witness", conflict.AgainstWitness, primary, fork, c, "primary"},
	} {
		ev := side.ev
		if ev == nil {
			t.Fatalf("%s: no evidence", side.name)
		}
		if len(side.to.reported) != 1 || side.to.reported[0] != types.Evidence(ev) {
			t.Errorf("%s: %s was reported %v, want the evidence once", side.name, side.reportedTo, side.to.reported)
		}
		h := ev.ConflictingBlock.Header.Height
		if h < 11 || h > 18 || ev.ConflictingBlock.Header.Hash() != side.attacker.blocks[h].Hash() || ev.CommonHeight > 10 || ev.CommonHeight < 1 {
			t.Fatalf("%s: conflicting block at %d (common height %d), want the attacker's block of 11..18 over a common height of 1..10", side.name, h, ev.CommonHeight)
		}
		if got := addressesOf(ev.ByzantineValidators); !slices.Equal(got, byzantine) {
			t.Errorf("%s: byzantine validators %X, want keys 2 and 3 %X", side.name, got, byzantine)
		}
		if !ev.Timestamp.Equal(side.truth.blocks[ev.CommonHeight].Header.Time) || ev.TotalVotingPower != 40 {
			t.Errorf("%s: timestamp %s and total power %d, want the common block's %s and 40", side.name, ev.Timestamp, ev.TotalVotingPower, side.truth.blocks[ev.CommonHeight].Header.Time)
		}
		if err := ev.Verify(testChainID, side.truth.signedAt(ev.CommonHeight), side.truth.signedAt(h), side.truth.blocks[ev.CommonHeight].ValidatorSet); err != nil {
			t.Errorf("%s: the judging chain refuses it: %v", side.name, err)
		}
	}
	if len(honest.reported) != 0 {
		t.Errorf("the honest witness was reported %v", honest.reported)
	}
}

func addressesOf(vals []*types.Validator) []types.Address {
	var out []types.Address
	for _, v := range vals {
		out = append(out, v.Address)
	}
	return out
}
