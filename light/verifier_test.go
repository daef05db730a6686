package light

import (
	"errors"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

func TestParseTrustLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TrustLevel
		ok   bool
	}{
		{"1/3", TrustLevel{1, 3}, true},
		{"2/3", TrustLevel{2, 3}, true},
		{"1/1", TrustLevel{1, 1}, true},
		{" 3 / 4 ", TrustLevel{3, 4}, true},
		{"1/4", TrustLevel{}, false}, // below 1/3: could be all Byzantine
		{"4/3", TrustLevel{}, false},
		{"0/3", TrustLevel{}, false},
		{"1/0", TrustLevel{}, false},
		{"0.33", TrustLevel{}, false},
		{"", TrustLevel{}, false},
	} {
		got, err := ParseTrustLevel(tc.in)
		if tc.ok != (err == nil) || (tc.ok && got != tc.want) {
			t.Errorf("ParseTrustLevel(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if !tc.ok && !errors.Is(err, ErrBadTrustLevel) {
			t.Errorf("ParseTrustLevel(%q): error %v does not wrap ErrBadTrustLevel", tc.in, err)
		}
	}
}

func TestVerifyAdjacentAndNonAdjacent(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	now := at(30, 0)()
	for _, tc := range []struct {
		name          string
		from, to      int64
		want          error // nil: verifies
		adjacent, non bool  // which entry points to call
	}{
		{"adjacent same set", 3, 4, nil, true, false},
		{"adjacent across a set change", 10, 11, nil, true, false},
		{"skip within a set", 1, 9, nil, false, true},
		{"skip with half the trusted set", 5, 15, nil, false, true},
		{"skip with no trusted signer", 5, 25, ErrNotEnoughTrust, false, true},
		{"backwards", 9, 5, ErrInvalidHeader, true, true},
		{"same height", 9, 9, ErrInvalidHeader, true, true},
		{"adjacent entry for a skip", 1, 3, ErrInvalidHeader, true, false},
		{"skip entry for adjacent", 1, 2, ErrInvalidHeader, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.adjacent {
				if err := VerifyAdjacent(testChainID, c.blocks[tc.from], c.blocks[tc.to], testOpts, now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("VerifyAdjacent %d→%d: %v, want %v", tc.from, tc.to, err, tc.want)
				}
			}
			if tc.non {
				if err := VerifyNonAdjacent(testChainID, c.blocks[tc.from], c.blocks[tc.to], testOpts, now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("VerifyNonAdjacent %d→%d: %v, want %v", tc.from, tc.to, err, tc.want)
				}
			}
		})
	}
}

func TestVerifyRefusesBadHeaders(t *testing.T) {
	c := genChain(t, testChainID, 12, threeEras, sameAppHash)
	other := genChain(t, "other-chain", 12, threeEras, sameAppHash)
	now := at(12, 0)()
	forged := func(h int64, slot int) *LightBlock {
		lb := c.clone(h)
		sig := append([]byte(nil), lb.Commit.Signatures[slot].Signature...)
		sig[0] ^= 1
		lb.Commit.Signatures[slot].Signature = sig
		return lb
	}
	twoSigners := c.clone(6)
	for i := 2; i < 4; i++ {
		twoSigners.Commit.Signatures[i] = types.CommitSig{Flag: types.BlockIDFlagAbsent}
	}
	nilVotes := c.clone(6)
	for i := 1; i < 4; i++ {
		nilVotes.Commit.Signatures[i] = c.sign(t, nilVotes, i, types.BlockIDFlagNil)
	}
	wrongNext := c.clone(5)
	wrongNext.Header.NextValidatorsHash = valSet(t, 7, 8).Hash()
	wrongNext.Commit.BlockID.Hash = wrongNext.Header.Hash()
	for i := range wrongNext.Commit.Signatures {
		wrongNext.Commit.Signatures[i] = c.sign(t, wrongNext, i, types.BlockIDFlagCommit)
	}
	swappedVals := c.clone(6)
	swappedVals.ValidatorSet = valSet(t, 0, 1, 2)

	for _, tc := range []struct {
		name    string
		trusted *LightBlock
		next    *LightBlock
		now     time.Time
		want    []error
	}{
		{"forged signature, adjacent", c.blocks[5], forged(6, 0), now, []error{ErrInvalidHeader, types.ErrInvalidCommit, types.ErrBadSignature}},
		{"forged signature, skipping", c.blocks[1], forged(8, 1), now, []error{types.ErrInvalidCommit, types.ErrBadSignature}},
		{"half the power signed", c.blocks[5], twoSigners, now, []error{ErrInvalidHeader, types.ErrInvalidCommit}},
		{"the others voted nil", c.blocks[5], nilVotes, now, []error{ErrInvalidHeader, types.ErrInvalidCommit}},
		{"another chain's header", c.blocks[5], other.blocks[6], now, []error{ErrInvalidHeader, ErrInvalidLightBlock}},
		{"signed for another chain", c.blocks[1], other.blocks[6], now, []error{ErrInvalidHeader}},
		{"next validators hash does not chain", wrongNext, c.blocks[6], now, []error{ErrInvalidHeader}},
		{"validator set not the header's", c.blocks[5], swappedVals, now, []error{ErrInvalidHeader, ErrInvalidLightBlock}},
		{"trusted header expired", c.blocks[1], c.blocks[6], genesisTime.Add(time.Second + time.Hour), []error{ErrOldHeaderExpired}},
		{"header from the future", c.blocks[1], c.blocks[12], genesisTime.Add(time.Second), []error{ErrInvalidHeader}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(testChainID, tc.trusted, tc.next, testOpts, tc.now)
			if err == nil {
				t.Fatalf("Verify succeeded, want %v", tc.want)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("Verify: %v, want it to wrap %v", err, w)
				}
			}
		})
	}
}

func TestVerifyTimeMustIncrease(t *testing.T) {
	c := genChain(t, testChainID, 6, threeEras, sameAppHash)
	stale := c.clone(6)
	stale.Header.Time = c.blocks[5].Header.Time
	stale.Commit.BlockID.Hash = stale.Header.Hash()
	for i := range stale.Commit.Signatures {
		stale.Commit.Signatures[i] = c.sign(t, stale, i, types.BlockIDFlagCommit)
	}
	if err := Verify(testChainID, c.blocks[5], stale, testOpts, at(6, 0)()); !errors.Is(err, ErrInvalidHeader) {
		t.Fatalf("a header no later than the trusted one: %v, want ErrInvalidHeader", err)
	}
}

func TestVerifyCommitTrustingCountsEachValidatorOnce(t *testing.T) {
	c := genChain(t, testChainID, 30, threeEras, sameAppHash)
	// Height 15's set (keys 2-5) shares keys 2 and 3 with height 5's; a
	// commit that lists one of them twice must not count it twice.
	lb := c.clone(15)
	lb.Commit.Signatures[1] = lb.Commit.Signatures[0]
	if _, v := c.blocks[5].ValidatorSet.ByAddress(lb.Commit.Signatures[0].ValidatorAddress); v == nil {
		t.Fatal("test setup: slot 0 of height 15 is not in height 5's set")
	}
	err := VerifyCommitTrusting(testChainID, c.blocks[5].ValidatorSet, lb.Commit, TrustLevel{2, 3})
	if !errors.Is(err, types.ErrInvalidCommit) {
		t.Fatalf("duplicate signer: %v, want ErrInvalidCommit", err)
	}
}
