package sim

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Stats counts what happened in a run.
type Stats struct {
	Sent      uint64 `json:"sent"`
	Delivered uint64 `json:"delivered"`
	Dropped   uint64 `json:"dropped"`
	Rejected  uint64 `json:"rejected"` // refused at the edge: bad signature, unknown validator, mismatched block
	Refused   uint64 `json:"refused"`  // refused by the core
	// Evidence counts the equivocations correct validators detected,
	// CommittedEvidence the distinct evidence in their decided blocks,
	// Accused the validators it accuses.
	Evidence          uint64 `json:"evidence"`
	CommittedEvidence uint64 `json:"committed_evidence"`
	Accused           uint64 `json:"accused"`
	Retransmits       uint64 `json:"retransmits"`
	Partitions        uint64 `json:"partitions"`
	Crashes           uint64 `json:"crashes"`
	Restarts          uint64 `json:"restarts"`
	// PowerCuts counts the crashes that came halfway through an event (a
	// disk failing at a WAL write or sync, or at the signer's state sync),
	// LostWrites the crashes that lost unsynced data.
	PowerCuts  uint64 `json:"power_cuts"`
	LostWrites uint64 `json:"lost_writes"`
	// MisdatedProposals counts the signed proposals of blocks not dated by
	// BFT time (a FutureTime proposer's); RaisedVoteTimes the correct
	// validators' votes dated after their clock, 1 ms after the block they
	// are locked on or shown (their clock being behind its time).
	MisdatedProposals uint64 `json:"misdated_proposals"`
	RaisedVoteTimes   uint64 `json:"raised_vote_times"`
}

// Result is the outcome of one run.
type Result struct {
	Config Config `json:"-"`
	Seed   uint64 `json:"seed"`
	// HeightsDecided is the lowest height every correct validator decided.
	HeightsDecided int64 `json:"heights_decided"`
	// DecisionRounds maps each decided height to the round it was decided in.
	DecisionRounds map[int64]int32 `json:"-"`
	VirtualTime    time.Duration   `json:"virtual_time_ns"`
	Stats          Stats           `json:"stats"`
	Violations     []Violation     `json:"violations,omitempty"`
}

// Run simulates one network from cfg and checks it.
func Run(cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	w, err := newWorld(cfg)
	if err != nil {
		return Result{}, err
	}
	res := w.run()
	if w.trace != nil {
		if err := w.trace.flush(); err != nil {
			return res, fmt.Errorf("write the trace: %w", err)
		}
	}
	return res, nil
}

// run simulates the world from its start to the end of the run, and checks it.
func (w *world) run() Result {
	defer w.release()
	cfg := w.cfg
	stormUntil := cfg.GST
	horizon := cfg.terminationDeadline()
	if cfg.GST == NoGST {
		stormUntil, horizon = asyncHorizon, asyncHorizon
	}
	if cfg.Partitions {
		w.schedulePartitions(stormUntil)
	}
	w.scheduleCrashes(stormUntil)
	for _, n := range w.nodes {
		n.boot()
	}
	for w.sched.next(horizon) {
		if w.allDecided() {
			break
		}
	}
	w.stats.CommittedEvidence, w.stats.Accused = uint64(len(w.check.committed)), uint64(len(w.check.accused))
	res := Result{
		Config: cfg, Seed: cfg.Seed,
		HeightsDecided: min(w.minDecided(), cfg.Heights),
		DecisionRounds: map[int64]int32{},
		VirtualTime:    w.sched.now,
		Stats:          w.stats,
	}
	for h, d := range w.check.decisions {
		res.DecisionRounds[h] = d.round
	}
	res.Violations = append(res.Violations, w.check.violations...)
	if cfg.GST != NoGST && res.HeightsDecided < cfg.Heights {
		res.Violations = append(res.Violations, Violation{Kind: ViolationTermination, Height: res.HeightsDecided + 1,
			Detail: "correct validators had not all decided by " + horizon.String() + " (GST " + cfg.GST.String() + ")"})
	}
	return res
}

// release closes every node's databases, which the run no longer needs.
func (w *world) release() {
	for _, n := range w.nodes {
		n.release()
	}
}

func (w *world) minDecided() int64 {
	lowest := int64(-1)
	for _, n := range w.nodes {
		if n.isCorrect() && (lowest < 0 || n.last < lowest) {
			lowest = n.last
		}
	}
	return max(lowest, 0)
}

func (w *world) allDecided() bool {
	return w.minDecided() >= w.cfg.Heights
}

// Summary aggregates many runs.
type Summary struct {
	Runs              int            `json:"runs"`
	HeightsDecided    int64          `json:"heights_decided"`
	RoundsHistogram   map[int32]int  `json:"rounds_per_height"`
	MessagesPerHeight float64        `json:"messages_per_height"`
	Stats             Stats          `json:"stats"`
	Violations        []RunViolation `json:"violations,omitempty"`
	Wall              time.Duration  `json:"wall_ns"`
}

// RunViolation is a violation with the seed and command that replay it.
type RunViolation struct {
	Violation
	Seed   uint64 `json:"seed"`
	Replay string `json:"replay"`
}

// Add folds one run's result into the summary.
func (s *Summary) Add(r Result) {
	if s.RoundsHistogram == nil {
		s.RoundsHistogram = map[int32]int{}
	}
	s.Runs++
	s.HeightsDecided += r.HeightsDecided
	for _, round := range r.DecisionRounds {
		s.RoundsHistogram[round]++
	}
	st := &s.Stats
	st.Sent += r.Stats.Sent
	st.Delivered += r.Stats.Delivered
	st.Dropped += r.Stats.Dropped
	st.Rejected += r.Stats.Rejected
	st.Refused += r.Stats.Refused
	st.Evidence += r.Stats.Evidence
	st.CommittedEvidence += r.Stats.CommittedEvidence
	st.Accused += r.Stats.Accused
	st.Retransmits += r.Stats.Retransmits
	st.Partitions += r.Stats.Partitions
	st.Crashes += r.Stats.Crashes
	st.Restarts += r.Stats.Restarts
	st.PowerCuts += r.Stats.PowerCuts
	st.LostWrites += r.Stats.LostWrites
	st.MisdatedProposals += r.Stats.MisdatedProposals
	st.RaisedVoteTimes += r.Stats.RaisedVoteTimes
	if s.HeightsDecided > 0 {
		s.MessagesPerHeight = float64(st.Delivered) / float64(s.HeightsDecided)
	}
	for _, v := range r.Violations {
		s.Violations = append(s.Violations, RunViolation{Violation: v, Seed: r.Seed, Replay: r.Config.ReplayCommand()})
	}
}

// Rounds returns the histogram's rounds in order.
func (s *Summary) Rounds() []int32 {
	rounds := make([]int32, 0, len(s.RoundsHistogram))
	for r := range s.RoundsHistogram {
		rounds = append(rounds, r)
	}
	sort.Slice(rounds, func(i, j int) bool { return rounds[i] < rounds[j] })
	return rounds
}

// RunSeeds runs cfg with seeds first … first+count-1 on up to workers
// goroutines (each run is independent and single-threaded) and hands each
// result to fold in seed order, with the number of runs folded so far, so
// what fold sees does not depend on scheduling. It stops starting runs once
// ctx is done, and then reports how many runs it folded; a run that cannot
// start (Config.Decorate failing it) stops it too, with that run's error.
func RunSeeds(ctx context.Context, cfg Config, first, count uint64, workers int, fold func(r Result, done uint64)) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	type out struct {
		i   uint64
		r   Result
		err error
	}
	next := make(chan uint64)
	results := make(chan out)
	var wg sync.WaitGroup
	for range min(uint64(max(workers, 1)), count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := cfg
				c.Seed = first + i
				r, err := Run(c)
				results <- out{i, r, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range count {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	pending := map[uint64]Result{}
	var folded uint64
	var runErr error
	for o := range results {
		if o.err != nil {
			if runErr == nil {
				runErr = fmt.Errorf("seed %d: %w", first+o.i, o.err)
				stop()
			}
			continue
		}
		pending[o.i] = o.r
		for r, ok := pending[folded]; ok; r, ok = pending[folded] {
			delete(pending, folded)
			folded++
			fold(r, folded)
		}
	}
	if runErr != nil {
		return runErr
	}
	if folded < count {
		return fmt.Errorf("sim interrupted after %d of %d runs: %w", folded, count, context.Cause(ctx))
	}
	return nil
}
