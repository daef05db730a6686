package main

// figure is one kind of run: a network size and a load.
type figure struct {
	key        string
	validators int
	args       []string // `bftnode bench` flags beyond --nodes, --duration, --max-pending, --json
	// flatOut runs find, per system, the --max-pending past which the
	// committed rate stops rising, and measure there.
	flatOut bool
	noLoad  bool // the idle figure: shorter, no txs
	rows    []rowSpec
}

const mib = 1 << 20

// maxValidators is the largest network a figure uses.
const maxValidators = 7

// allFigures are the comparison's runs, in the order they are measured.
func allFigures() []figure {
	return []figure{
		{key: "tx250", validators: 4, args: []string{"--sync", "--tx-size", "250"}, flatOut: true, rows: []rowSpec{
			{name: "committed tx/s, 250 B, flat out", unit: "tx/s", value: func(r runResult) float64 { return r.TxPerS }, target: 5},
			{name: "peak RSS, worst node, 250 B flat out", unit: "MiB", value: func(r runResult) float64 { return float64(r.PeakRSSBytes) / mib }, target: 0.5, atMost: true},
			{name: "disk per committed 250 B tx per node", unit: "B", value: func(r runResult) float64 { return r.DiskBytesPerTx }, target: 0.25, atMost: true},
			{name: "CPU per committed 250 B tx per node", unit: "µs", value: func(r runResult) float64 { return r.CPUSecPerTx * 1e6 }},
		}},
		{key: "tx1k", validators: 4, args: []string{"--sync", "--tx-size", "1024"}, flatOut: true, rows: []rowSpec{
			{name: "committed tx/s, 1 KiB, flat out", unit: "tx/s", value: func(r runResult) float64 { return r.TxPerS }, target: 5},
		}},
		{key: "tx250v7", validators: maxValidators, args: []string{"--sync", "--tx-size", "250"}, flatOut: true, rows: []rowSpec{
			{name: "committed tx/s, 250 B, 7 validators", unit: "tx/s", value: func(r runResult) float64 { return r.TxPerS }, target: 4},
		}},
		{key: "idle", validators: 4, args: []string{"--no-load"}, noLoad: true, rows: []rowSpec{
			{name: "idle heights/s", unit: "heights/s", value: func(r runResult) float64 { return r.BlocksPerS }, target: 25},
		}},
		{key: "lat1000", validators: 4, args: []string{"--tx-size", "250", "--rate", "1000"}, rows: []rowSpec{
			{name: "p50 latency at 1,000 tx/s", unit: "ms", value: func(r runResult) float64 { return r.P50Ms }, target: 0.1, atMost: true},
			{name: "p99 latency at 1,000 tx/s", unit: "ms", value: func(r runResult) float64 { return r.P99Ms }, target: 0.15, atMost: true},
		}},
	}
}

// pendingCaps are the --max-pending values a flat-out figure tries, in
// order: doubling from 1000 up to 90% of the mempool size, and that.
func pendingCaps(mempoolSize int64) []int64 {
	top := mempoolSize * 9 / 10
	var caps []int64
	for c := int64(1000); c < top; c *= 2 {
		caps = append(caps, c)
	}
	return append(caps, top)
}

// bestCap measures every cap and returns the one with the highest
// committed rate among the clean runs (see runResult.clean), or among all
// when none was clean: the rate rises with the cap until the load no longer limits the system, then stays or falls, and a
// loaded machine's noise can make it dip on the way, so no early stop.
func bestCap(caps []int64, measure func(int64) (rate float64, clean bool, err error)) (int64, float64, error) {
	best, bestRate, bestClean := int64(0), -1.0, false
	for _, c := range caps {
		rate, clean, err := measure(c)
		if err != nil {
			return 0, 0, err
		}
		if (clean && !bestClean) || (clean == bestClean && rate > bestRate) {
			best, bestRate, bestClean = c, rate, clean
		}
	}
	return best, bestRate, nil
}
