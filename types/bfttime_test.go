package types

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"
)

var bftT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is bftT0 plus n milliseconds.
func at(n int) time.Time { return bftT0.Add(time.Duration(n) * time.Millisecond) }

// bftValidators are validators named by their index in powers (the set
// sorts them by power, so names, not set indexes, identify them).
func bftValidators(t *testing.T, powers ...int64) (*ValidatorSet, []Address) {
	t.Helper()
	vals := make([]*Validator, len(powers))
	addrs := make([]Address, len(powers))
	for i, p := range powers {
		var seed [ed25519.SeedSize]byte
		copy(seed[:], fmt.Sprintf("bfttime-%d", i))
		vals[i] = NewValidator(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), p)
		addrs[i] = vals[i].Address
	}
	vs, err := NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs, addrs
}

type slot struct {
	who  int // index into the powers
	flag BlockIDFlag
	ms   int // timestamp, ms after bftT0
}

func commitOf(vs *ValidatorSet, addrs []Address, slots ...slot) *Commit {
	c := &Commit{Height: 4, Signatures: make([]CommitSig, vs.Size())}
	for i := range c.Signatures {
		c.Signatures[i] = CommitSig{Flag: BlockIDFlagAbsent}
	}
	for _, s := range slots {
		i, _ := vs.ByAddress(addrs[s.who])
		c.Signatures[i] = CommitSig{Flag: s.flag, ValidatorAddress: addrs[s.who], Timestamp: at(s.ms)}
	}
	return c
}

// The expected medians are worked out by hand from the definition in
// CometBFT's spec (consensus/bft-time.md) and its WeightedMedian: sorted by
// time, the first timestamp at which the cumulative power reaches
// floor(total/2), total being the power of the precommits for the block.
func TestMedianTime(t *testing.T) {
	const C, N = BlockIDFlagCommit, BlockIDFlagNil
	tests := []struct {
		name   string
		powers []int64
		slots  []slot
		want   int
	}{
		{"the spec's example: p2, p3, p4 precommit; p2's time", []int64{23, 27, 10, 10},
			[]slot{{1, C, 98}, {2, C, 1000}, {3, C, 500}}, 98},
		{"four equal powers: the lower middle", []int64{10, 10, 10, 10},
			[]slot{{0, C, 4}, {1, C, 1}, {2, C, 3}, {3, C, 2}}, 2},
		{"three equal powers: the middle", []int64{10, 10, 10},
			[]slot{{0, C, 7}, {1, C, 5}, {2, C, 6}}, 6},
		{"three of power 1: half rounds down to 1, so the earliest", []int64{1, 1, 1},
			[]slot{{0, C, 7}, {1, C, 5}, {2, C, 6}}, 5},
		{"nil precommits do not count", []int64{10, 10, 10, 10},
			[]slot{{0, C, 1}, {1, N, 2}, {2, C, 3}, {3, C, 4}}, 3},
		{"one far-future clock in four cannot move it", []int64{10, 10, 10, 10},
			[]slot{{0, C, 10}, {1, C, 11}, {2, C, 12}, {3, C, 3_600_000}}, 11},
		{"a heavy validator is the median by itself", []int64{60, 10, 10, 10},
			[]slot{{0, C, 50}, {1, C, 1}, {2, C, 2}, {3, C, 3}}, 50},
		{"equal timestamps", []int64{10, 10, 10, 10},
			[]slot{{0, C, 9}, {1, C, 9}, {2, C, 9}}, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, addrs := bftValidators(t, tc.powers...)
			got, err := MedianTime(commitOf(vs, addrs, tc.slots...), vs)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(at(tc.want)) {
				t.Fatalf("median %v, want %v", got.Sub(bftT0), at(tc.want).Sub(bftT0))
			}
		})
	}
}

func TestMedianTimeRefusesWhatItCannotWeigh(t *testing.T) {
	vs, addrs := bftValidators(t, 10, 10, 10)
	other, stranger := bftValidators(t, 10, 10, 10, 10)
	tests := map[string]*Commit{
		"no commit":                nil,
		"no precommit for a block": commitOf(vs, addrs, slot{0, BlockIDFlagNil, 1}),
		"a signer outside the set": commitOf(other, stranger, slot{3, BlockIDFlagCommit, 1}),
	}
	for name, c := range tests {
		if _, err := MedianTime(c, vs); !errors.Is(err, ErrBlockTime) {
			t.Errorf("%s: got %v, want ErrBlockTime", name, err)
		}
	}
}

func TestBlockTimeOfTheFirstBlockIsGenesis(t *testing.T) {
	vs, addrs := bftValidators(t, 10)
	c := commitOf(vs, addrs, slot{0, BlockIDFlagCommit, 5})
	if got, err := BlockTime(3, 3, at(-7), nil, nil); err != nil || !got.Equal(at(-7)) {
		t.Fatalf("initial height: %v, %v; want the genesis time", got, err)
	}
	if got, err := BlockTime(4, 3, at(-7), c, vs); err != nil || !got.Equal(at(5)) {
		t.Fatalf("next height: %v, %v; want the median", got, err)
	}
}

func TestVoteTime(t *testing.T) {
	local := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		name       string
		now, block time.Time
		want       time.Time
	}{
		{"a clock ahead of the block: now", at(10), at(5), at(10)},
		{"a clock behind the block: the block's time plus 1 ms", at(3), at(5), at(6)},
		{"exactly the block's time plus 1 ms", at(6), at(5), at(6)},
		{"the block's own time: plus 1 ms", at(5), at(5), at(6)},
		{"no block: now", at(-100), time.Time{}, at(-100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := VoteTime(tc.now.In(local), tc.block)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("VoteTime = %v, want %v in UTC", got, tc.want)
			}
		})
	}
	// A reading of the monotonic clock is dropped: it never travels.
	if now := time.Now(); VoteTime(now, time.Time{}) != now.Round(0).UTC() {
		t.Fatal("the monotonic reading was kept")
	}
}
