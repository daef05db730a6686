package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name string
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 of 1..100", ms(hundred...), 100, 100 * time.Millisecond},
		{"p50 of four", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of four", ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{"tiny p", ms(5, 6), 0.001, 5 * time.Millisecond},
	} {
		if got := Percentile(tc.xs, tc.p); got != tc.want {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{5, 1, 3}
	if got := Median(xs); got != 3 {
		t.Errorf("Median(5,1,3) = %v", got)
	}
	if !slices.Equal(xs, []float64{5, 1, 3}) {
		t.Errorf("Median modified its input: %v", xs)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("Median(4,1,3,2) = %v, want 2.5", got)
	}
	if got := Median(nil); got != 0 {
		t.Errorf("Median(nil) = %v", got)
	}
}

func TestWindowsRates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := NewWindows(t0, time.Second)
	w.Add(t0.Add(-time.Millisecond), 1000) // before the start: ignored
	w.Add(t0, 10)
	w.Add(t0.Add(999*time.Millisecond), 5)
	w.Add(t0.Add(2500*time.Millisecond), 30) // window 2; window 1 stays empty
	w.Add(t0.Add(3100*time.Millisecond), 7)  // partial window at the end
	got := w.Rates(t0.Add(3500 * time.Millisecond))
	if want := []float64{15, 0, 30}; !slices.Equal(got, want) {
		t.Errorf("Rates = %v, want %v", got, want)
	}
	if got := Median(w.Rates(t0.Add(3500 * time.Millisecond))); got != 15 {
		t.Errorf("median rate = %v, want 15", got)
	}
	if got := w.Rates(t0.Add(-time.Second)); got != nil {
		t.Errorf("Rates before the start = %v", got)
	}
	half := NewWindows(t0, 500*time.Millisecond)
	half.Add(t0.Add(100*time.Millisecond), 4)
	if got := half.Rates(t0.Add(500 * time.Millisecond)); !slices.Equal(got, []float64{8}) {
		t.Errorf("half-second window rate = %v, want [8]", got)
	}
}
