package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"testing"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
)

// rotationValidators builds validators with the given powers and
// deterministic keys, in the order given.
func rotationValidators(t testing.TB, powers []int64) []*Validator {
	t.Helper()
	vals := make([]*Validator, len(powers))
	for i, p := range powers {
		seed := sha256.Sum256(fmt.Appendf(nil, "rotation-%d", i))
		vals[i] = NewValidator(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), p)
	}
	return vals
}

func rotationSet(t testing.TB, powers []int64) *ValidatorSet {
	t.Helper()
	vs, err := NewValidatorSet(rotationValidators(t, powers))
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// proposers returns the round-0 proposer of n successive heights, advancing
// the set by one as the engine does after each height.
func proposers(vs *ValidatorSet, n int) []Address {
	out := make([]Address, n)
	for h := range n {
		out[h] = vs.Proposer().Address
		vs.IncrementProposerPriority(1)
	}
	return out
}

// roundTrip encodes vs as stored (proto bytes) and decodes it, as a
// restarted node does.
func roundTrip(t testing.TB, vs *ValidatorSet) *ValidatorSet {
	t.Helper()
	bz, err := vs.ToProto().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var pb typespb.ValidatorSet
	if err := pb.Unmarshal(bz); err != nil {
		t.Fatal(err)
	}
	got, err := ValidatorSetFromProto(&pb)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var rotationPowers = [][]int64{
	{1, 1, 1, 1},
	{1, 1, 1, 3},
	{1, 2, 3, 4},
	{10, 20, 30, 40, 100},
	{1, 100},
	{5, 5, 5, 5, 5, 5, 5, 1, 1, 63},
	{1_000_000_000, 3_000_000_000, 7, 2_500_000_000}, // large powers exercise rescaling
}

func TestProposerShareMatchesVotingPower(t *testing.T) {
	const heights = 10_000
	for _, powers := range rotationPowers {
		t.Run(fmt.Sprint(powers), func(t *testing.T) {
			vs := rotationSet(t, powers)
			count := map[Address]int{}
			for _, a := range proposers(vs, heights) {
				count[a]++
			}
			total := float64(vs.TotalVotingPower())
			for _, v := range vs.Validators {
				share := float64(count[v.Address]) / heights
				want := float64(v.VotingPower) / total
				if math.Abs(share-want) > 0.01 {
					t.Errorf("validator of power %d proposed %.4f of heights, want %.4f ± 0.01", v.VotingPower, share, want)
				}
			}
		})
	}
}

func TestProposerRotationIsDeterministic(t *testing.T) {
	const heights = 10_000
	for _, powers := range rotationPowers {
		t.Run(fmt.Sprint(powers), func(t *testing.T) {
			vs := rotationSet(t, powers)
			want := proposers(vs.Copy(), heights)

			// Built again from the validators in another order.
			rev := rotationValidators(t, powers)
			slices.Reverse(rev)
			again, err := NewValidatorSet(rev)
			if err != nil {
				t.Fatal(err)
			}
			if got := proposers(again, heights); !slices.Equal(got, want) {
				t.Fatal("a set built from the same validators in another order rotates differently")
			}

			// Stored and reloaded (a restart) at several heights.
			for _, stop := range []int{0, 1, 777, 5000, heights - 1} {
				c := vs.Copy()
				got := proposers(c, stop)
				got = append(got, proposers(roundTrip(t, c), heights-stop)...)
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("restart at height %d: proposer of height %d differs", stop, i)
				}
			}

			// The original was not advanced by any of it.
			if got := proposers(vs, heights); !slices.Equal(got, want) {
				t.Fatal("Copy shares state with the original")
			}
		})
	}
}

func TestProposerForRoundMatchesIncrements(t *testing.T) {
	for _, powers := range rotationPowers {
		vs := rotationSet(t, powers)
		vs.IncrementProposerPriority(17) // some height in the middle
		before, err := vs.ToProto().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c := vs.Copy()
		for r := range int32(30) {
			if got, want := vs.ProposerForRound(r).Address, c.Proposer().Address; got != want {
				t.Fatalf("powers %v: ProposerForRound(%d) = %X, want %X", powers, r, got[:4], want[:4])
			}
			c.IncrementProposerPriority(1)
		}
		if after, _ := vs.ToProto().Marshal(); !bytes.Equal(after, before) {
			t.Fatalf("powers %v: ProposerForRound changed the set", powers)
		}
	}
}

func firstDiff(a, b []Address) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}
