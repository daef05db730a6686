package light

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func TestStoreOrdersByHeight(t *testing.T) {
	c := genChain(t, testChainID, 12, threeEras, sameAppHash)
	s := memStore(t)
	if lb, err := s.Latest(); lb != nil || err != nil {
		t.Fatalf("empty store: latest %v, %v", lb, err)
	}
	for _, h := range []int64{3, 11, 7} {
		if err := s.Save(c.blocks[h]); err != nil {
			t.Fatal(err)
		}
	}
	height := func(lb *LightBlock, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if lb == nil {
			return 0
		}
		return lb.Height()
	}
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"latest", height(s.Latest()), 11},
		{"lowest", height(s.Lowest()), 3},
		{"below 7", height(s.Below(7)), 3},
		{"below 8", height(s.Below(8)), 7},
		{"below 3", height(s.Below(3)), 0},
		{"at 5", height(s.LightBlock(5)), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: height %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	lb, err := s.LightBlock(11)
	if err != nil || lb.Hash() != c.blocks[11].Hash() || lb.Commit.Hash() != c.blocks[11].Commit.Hash() ||
		lb.ValidatorSet.Hash() != c.blocks[11].ValidatorSet.Hash() || lb.ValidateBasic(testChainID) != nil {
		t.Fatalf("height 11 does not read back as saved: %v", err)
	}
	for _, keep := range []int{5, 2} {
		if err := s.Prune(keep); err != nil {
			t.Fatal(err)
		}
	}
	if got := []int64{height(s.Lowest()), height(s.Latest())}; got[0] != 7 || got[1] != 11 {
		t.Fatalf("after pruning to 2 blocks: lowest and latest %v, want [7 11]", got)
	}
	if err := s.db.Set(storeKey(9), []byte{0x05, 0x01}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LightBlock(9); !errors.Is(err, ErrCorruptStore) {
		t.Fatalf("a truncated value: %v, want ErrCorruptStore", err)
	}
}
