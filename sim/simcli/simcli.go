// Package simcli is the command line of the simulator: `bftnode sim`,
// whose validators are all correct, and the bftnode-sim development binary
// (internal/byzantine/cmd/bftnode-sim), which extends it (Extension) with
// flags that decorate validators with the Byzantine behaviours of package
// internal/byzantine. The exit status is 0 when no violation was found, 2
// (ErrViolations) when one was, 1 on error.
package simcli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bftnode/bftnode/sim"
)

// ErrViolations is the error of a run that found violations; the binaries
// exit with status 2 on it.
var ErrViolations = errors.New("the simulator found violations")

// Extension is what a binary adds to the sim command: flags of its own
// and, from them, decorated validators (sim.Config.Decorate).
type Extension struct {
	// Use is the command's name.
	Use string
	// Help ends the command's long help; Example replaces its examples.
	Help, Example string
	// Flags adds the extension's flags.
	Flags func(*pflag.FlagSet)
	// Configure, called once the flags are parsed, sets cfg's
	// decorations (Decorate, and Command for the replay commands) and
	// returns how the summary describes them ("" for none).
	Configure func(cfg *sim.Config) (string, error)
}

// correctOnly is `bftnode sim`: no decorated validator.
var correctOnly = Extension{
	Use: "sim",
	Help: `The validators are all correct: the Byzantine behaviours are test code, in
the bftnode-sim development binary (go build ./internal/byzantine/cmd/bftnode-sim).`,
	Example: `  bftnode sim --validators 4 --heights 20 --seeds 100
  bftnode sim --validators 7 --seeds 500 --crashes 2
  bftnode sim --validators 4 --gst none --crashes 3 --seed 42 --json
  bftnode sim --validators 4 --crashes 2 --seed 3 --trace run.jsonl && bftnode ui run.jsonl`,
	Flags:     func(*pflag.FlagSet) {},
	Configure: func(*sim.Config) (string, error) { return "", nil },
}

type cli struct {
	stdout, stderr io.Writer
	ext            *Extension
}

type simOpts struct {
	validators, crashes int
	gst                 string
	heights             int64
	seeds, seed         uint64
	json, quiet         bool
	workers             int
	clockSkew           time.Duration
	trace               string
}

// Command is the sim command, printing to stdout and stderr, extended by
// ext (nil: `bftnode sim`, all validators correct).
func Command(stdout, stderr io.Writer, ext *Extension) *cobra.Command {
	if ext == nil {
		ext = &correctOnly
	}
	c := &cli{stdout: stdout, stderr: stderr, ext: ext}
	def := sim.DefaultConfig()
	o := simOpts{}
	cmd := &cobra.Command{
		Use:   ext.Use,
		Short: "Run the deterministic consensus simulator over many seeds",
		Long: `sim runs N real consensus engines (the engine every validator runs, with
its WAL, its signer and its block store on simulated disks, and the kvstore
application) in a simulated network with a virtual clock: before GST
messages are delayed (up to 2s), dropped (10%) and partitioned, and
--crashes correct validators crash and restart, losing whatever their disks
had not synced (a torn WAL tail, an unsynced state write), sometimes halfway
through handling a message; after GST delays are at most 20ms. Each
validator's clock is off by a fixed offset of at most --clock-skew; votes
carry these clocks' readings and block times are their weighted medians
(BFT time).

Each run is checked for agreement, validity, no double-signing by correct
validators, durability (a correct validator's own message leaves it only once
its WAL record and its signer's state are on disk), BFT time (every decided
block dated at the weighted median of its last commit, within the correct
validators' timestamps, after the block before; no correct vote for a
misdated block) and (unless --gst none) termination of all --heights. Runs
use seeds --seed … --seed+--seeds-1; a run is fully determined by its flags
and seed, so every violation is printed with the command that replays it.

--trace FILE writes every step of one run (one --seed) as JSON lines:
each validator's steps, the votes and proposals signed (a decorated
validator's conflicting ones too), timeouts, locks, decisions, partitions,
crashes and restarts. ` + "`bftnode ui FILE`" + ` plays it in the browser.

The exit status is 0 when no violation was found, 2 when one was, 1 on error.

` + ext.Help,
		Example:       ext.Example,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run(cmd, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.validators, "validators", def.Validators, "number of validators")
	ext.Flags(f)
	f.Int64Var(&o.heights, "heights", def.Heights, "heights every correct validator must decide")
	f.Uint64Var(&o.seeds, "seeds", 1, "number of runs, with consecutive seeds")
	f.Uint64Var(&o.seed, "seed", def.Seed, "seed of the first run")
	f.StringVar(&o.gst, "gst", def.GST.String(), `virtual time when the network turns synchronous, or "none" (only safety is checked)`)
	f.IntVar(&o.crashes, "crashes", 0, "crash-restarts of correct validators before GST, per run")
	f.DurationVar(&o.clockSkew, "clock-skew", def.ClockSkew, "the most a validator's clock is off virtual time")
	f.BoolVar(&o.json, "json", false, "print the summary as JSON")
	f.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	f.IntVar(&o.workers, "workers", runtime.NumCPU(), "runs simulated in parallel (results do not depend on it)")
	f.StringVar(&o.trace, "trace", "", "write every step of the run to this file as JSON lines (one seed only; play it with `bftnode ui FILE`)")
	return cmd
}

func (c *cli) run(cmd *cobra.Command, o simOpts) error {
	cfg := sim.DefaultConfig()
	cfg.Validators, cfg.Heights, cfg.Crashes, cfg.ClockSkew = o.validators, o.heights, o.crashes, o.clockSkew
	if o.gst == "none" {
		cfg.GST = sim.NoGST
	} else {
		d, err := time.ParseDuration(o.gst)
		if err != nil || d < 0 {
			return fmt.Errorf(`--gst %q: want a non-negative duration such as "5s", or "none"`, o.gst)
		}
		cfg.GST = d
	}
	if o.seeds < 1 {
		return fmt.Errorf("--seeds %d: need at least one run", o.seeds)
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: need at least one", o.workers)
	}
	if o.crashes < 0 {
		return fmt.Errorf("--crashes %d: must not be negative", o.crashes)
	}
	if o.clockSkew < 0 {
		return fmt.Errorf("--clock-skew %v: must not be negative", o.clockSkew)
	}
	decorated, err := c.ext.Configure(&cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	lastProgress := start
	var s sim.Summary
	if o.trace != "" {
		if o.seeds != 1 {
			return fmt.Errorf("--trace writes one run: use it with --seeds 1 (the default) and pick the run with --seed")
		}
		if err := traceRun(cfg, o, &s); err != nil {
			return err
		}
	} else if err := sim.RunSeeds(cmd.Context(), cfg, o.seed, o.seeds, o.workers, func(r sim.Result, done uint64) {
		s.Add(r)
		if !o.quiet && o.seeds > 1 && (time.Since(lastProgress) >= time.Second || done == o.seeds) {
			lastProgress = time.Now()
			_, _ = fmt.Fprintf(c.stderr, "sim: %d/%d runs, %d violations, %s\n", done, o.seeds, len(s.Violations), time.Since(start).Round(time.Millisecond))
		}
	}); err != nil {
		return err
	}
	s.Wall = time.Since(start)
	if o.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&s); err != nil {
			return err
		}
	} else if err := printSummary(c.stdout, cfg, o, decorated, &s); err != nil {
		return err
	}
	if len(s.Violations) > 0 {
		return ErrViolations
	}
	return nil
}

// traceRun runs seed o.seed alone, writing its trace to o.trace.
func traceRun(cfg sim.Config, o simOpts, s *sim.Summary) error {
	f, err := os.Create(o.trace)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	cfg.Seed, cfg.Trace = o.seed, f
	r, err := sim.Run(cfg)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write the trace: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("--trace %s: %w", o.trace, err)
	}
	s.Add(r)
	return nil
}

// printSummary prints s, decorated describing the decorated validators.
func printSummary(w io.Writer, cfg sim.Config, o simOpts, decorated string, s *sim.Summary) error {
	p := &errWriter{w: w}
	gst := o.gst
	if decorated == "" {
		decorated = "all correct"
	}
	p.printf("runs:                %d (seeds %d..%d)\n", s.Runs, o.seed, o.seed+o.seeds-1)
	p.printf("network:             %d validators, %s, GST %s, %d crashes per run\n", cfg.Validators, decorated, gst, cfg.Crashes)
	p.printf("heights decided:     %d of %d\n", s.HeightsDecided, int64(s.Runs)*cfg.Heights)
	p.printf("rounds per height:  ")
	for _, r := range s.Rounds() {
		p.printf(" r%d:%d", r, s.RoundsHistogram[r])
	}
	p.printf("\nmessages per height: %.1f\n", s.MessagesPerHeight)
	st := s.Stats
	p.printf("messages:            sent %d, delivered %d, dropped %d, rejected %d, refused %d, evidence %d\n",
		st.Sent, st.Delivered, st.Dropped, st.Rejected, st.Refused, st.Evidence)
	p.printf("faults:              partitions %d, crashes %d (%d halfway through an event, %d losing unsynced writes), restarts %d\n",
		st.Partitions, st.Crashes, st.PowerCuts, st.LostWrites, st.Restarts)
	p.printf("accountability:      %d equivocations detected, %d pieces of evidence committed, %d validators convicted\n",
		st.Evidence, st.CommittedEvidence, st.Accused)
	p.printf("BFT time:            %d misdated proposals, %d vote times raised past a late clock\n", st.MisdatedProposals, st.RaisedVoteTimes)
	p.printf("wall time:           %s\n", s.Wall.Round(time.Millisecond))
	if len(s.Violations) == 0 {
		p.printf("violations:          none\n")
		return p.err
	}
	kinds := map[string]int{}
	var order []string
	for _, v := range s.Violations {
		if kinds[v.Kind] == 0 {
			order = append(order, v.Kind)
		}
		kinds[v.Kind]++
	}
	p.printf("violations:          %d:", len(s.Violations))
	for _, k := range order {
		p.printf(" %s %d", k, kinds[k])
	}
	p.printf("\n")
	const maxShown = 20
	lastSeed, shown := uint64(0), 0
	for i, v := range s.Violations {
		if shown == maxShown {
			p.printf("  … and %d more (--json lists them all)\n", len(s.Violations)-i)
			break
		}
		if i == 0 || v.Seed != lastSeed {
			p.printf("  seed %d, replay with: %s\n", v.Seed, v.Replay)
			lastSeed = v.Seed
		}
		p.printf("    %s\n", v.Violation)
		shown++
	}
	return p.err
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (p *errWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
