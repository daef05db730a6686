package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none. It does not modify xs.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Windows counts events in consecutive windows of Width from Start.
type Windows struct {
	Start  time.Time
	Width  time.Duration
	counts []int64
}

// NewWindows returns empty windows of width from start.
func NewWindows(start time.Time, width time.Duration) *Windows {
	return &Windows{Start: start, Width: width}
}

// Add counts n events at t; events before Start are ignored.
func (w *Windows) Add(t time.Time, n int64) {
	if t.Before(w.Start) || w.Width <= 0 {
		return
	}
	i := int(t.Sub(w.Start) / w.Width)
	for len(w.counts) <= i {
		w.counts = append(w.counts, 0)
	}
	w.counts[i] += n
}

// Rates returns the events per second of every window that ended by end
// (partial windows are left out, empty ones count as 0).
func (w *Windows) Rates(end time.Time) []float64 {
	if w.Width <= 0 || end.Before(w.Start) {
		return nil
	}
	full := int(end.Sub(w.Start) / w.Width)
	out := make([]float64, full)
	for i := range full {
		if i < len(w.counts) {
			out[i] = float64(w.counts[i]) / w.Width.Seconds()
		}
	}
	return out
}
