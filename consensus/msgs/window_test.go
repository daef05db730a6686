package msgs

import "testing"

func TestStatusAdmits(t *testing.T) {
	st := Status{Height: 10, Round: 2}
	for _, tc := range []struct {
		name string
		st   Status
		h    int64
		r    int32
		want bool
	}{
		{"current height, current round", st, 10, 2, true},
		{"current height, earlier round", st, 10, 0, true},
		{"current height, last round of the window", st, 10, 2 + RoundsAhead, true},
		{"current height, one round past the window", st, 10, 3 + RoundsAhead, false},
		{"current height, far-future round", st, 10, 1 << 30, false},
		{"negative round", st, 10, -1, false},
		{"next height, round 0", st, 11, 0, true},
		{"next height, last round of the window", st, 11, RoundsAhead - 1, true},
		{"next height, past the window", st, 11, RoundsAhead, false},
		{"two heights ahead", st, 12, 0, false},
		{"previous height", st, 9, 0, false},
		{"before consensus started", Status{}, 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.Admits(tc.h, tc.r); got != tc.want {
				t.Errorf("Status%+v.Admits(%d, %d) = %v, want %v", tc.st, tc.h, tc.r, got, tc.want)
			}
		})
	}
}

func TestStatusSetSize(t *testing.T) {
	st := Status{Height: 10, Validators: 4, NextValidators: 7}
	for _, tc := range []struct {
		name string
		st   Status
		h    int64
		want int
	}{
		{"the height's set", st, 10, 4},
		{"the next height's set", st, 11, 7},
		{"unknown size", Status{Height: 10}, 10, MaxValidators},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.SetSize(tc.h); got != tc.want {
				t.Errorf("Status%+v.SetSize(%d) = %d, want %d", tc.st, tc.h, got, tc.want)
			}
		})
	}
}
