package sim

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/msgs"
)

// Decoration changes one validator's engine for a run: a caller's
// decorators over the engine's ports (transport, signer, core, ...), the
// way a test puts a faulty validator in the network. The simulator has no
// faulty behaviour of its own.
type Decoration struct {
	// Label names what the validator does, in traces and reports.
	Label string
	// Ports changes the engine's dependencies each time the validator's
	// engine is built (at the start and at each restart); key is the
	// validator's private key.
	Ports func(key ed25519.PrivateKey, d *engine.Deps) error
	// Honest keeps the validator among the correct ones that the checks
	// cover, for a decoration that stands for a defect of the code under
	// test rather than for an attacker (to show that a check catches it).
	Honest bool
}

// Decorate picks a run's decorated validators: called once per run, before
// it starts, with the run's random source (every choice it makes must come
// from rng, so that the seed still determines the run) and its number of
// validators, it returns the decorations by validator index.
type Decorate func(rng *rand.Rand, validators int) map[int]Decoration

// NoGST disables GST: the network stays asynchronous for the whole run, and
// only safety is checked.
const NoGST time.Duration = -1

// Config describes one simulated run. The zero values of the optional fields
// take the defaults of DefaultConfig.
type Config struct {
	Validators int
	Heights    int64
	Seed       uint64
	// Decorate, if set, decorates some validators' engines in each run. A
	// decorated validator is not correct (unless its Decoration is Honest):
	// it is not crashed (it may fail as it pleases), and Agreement,
	// Validity, Termination, the no-double-sign rule, durability and BFT
	// time are checked over the others; duplicate-vote evidence may
	// accuse only it.
	Decorate Decorate
	// Command is the command line that reruns this configuration but for
	// the flags of ReplayCommand (default "bftnode sim"): a caller that
	// sets Decorate names its binary and flags here.
	Command string

	// GST is the virtual time after which the network is synchronous, or NoGST.
	GST time.Duration
	// Before GST: delays are uniform in [0, MaxDelay], a message is dropped
	// with probability DropRate, and partitions come and go.
	MaxDelay   time.Duration
	DropRate   float64
	Partitions bool
	// Crashes is how many crash-restarts of correct validators happen before
	// GST, each at a random moment (possibly halfway through carrying out the
	// actions of one event).
	Crashes int
	// After GST: delays are uniform in [0, Delta].
	Delta time.Duration
	// ClockSkew bounds how far each validator's clock is off virtual time:
	// each gets a fixed offset, uniform in [-ClockSkew, +ClockSkew], drawn
	// from the seed. Votes carry these clocks' readings, and block times
	// are medians of them (BFT time).
	ClockSkew time.Duration
	// CommitDelay is the pause between deciding a height and starting the next.
	CommitDelay time.Duration
	// Timeouts of the consensus core.
	Timeouts consensus.Timeouts
	// Observe, if set, is called after each input a validator's engine
	// handled and each crash, in the run's order (a trace writer, a UI).
	// It must not change the run.
	Observe func(Step)
	// Trace, if set, receives the run step by step as JSON lines (trace.go),
	// for the web view to play back.
	Trace io.Writer
	// TerminationBound is how long after GST (or after the start, when there
	// is no fault) every correct validator has to decide all Heights.
	TerminationBound time.Duration
}

// DefaultConfig returns a 4-validator run with a stormy first 5 virtual
// seconds and a 20 ms bound on delays afterwards.
func DefaultConfig() Config {
	return Config{
		Validators:  4,
		Heights:     20,
		Seed:        1,
		GST:         5 * time.Second,
		MaxDelay:    2 * time.Second,
		DropRate:    0.1,
		Partitions:  true,
		Delta:       20 * time.Millisecond,
		ClockSkew:   500 * time.Millisecond,
		CommitDelay: 10 * time.Millisecond,
		Timeouts: consensus.Timeouts{
			Propose: 300 * time.Millisecond, ProposeDelta: 100 * time.Millisecond,
			Prevote: 100 * time.Millisecond, PrevoteDelta: 100 * time.Millisecond,
			Precommit: 100 * time.Millisecond, PrecommitDelta: 100 * time.Millisecond,
		},
	}
}

func (c Config) validate() error {
	switch {
	case c.Validators < 1:
		return fmt.Errorf("need at least one validator, got %d", c.Validators)
	case c.Heights < 1:
		return fmt.Errorf("need at least one height, got %d", c.Heights)
	case c.Delta <= 0:
		return fmt.Errorf("delta must be positive")
	case c.ClockSkew < 0:
		return fmt.Errorf("clock skew %v must not be negative", c.ClockSkew)
	}
	return nil
}

// terminationDeadline is the virtual time by which all correct validators
// must have decided every height, or 0 when termination is not required.
func (c Config) terminationDeadline() time.Duration {
	if c.GST == NoGST {
		return 0
	}
	bound := c.TerminationBound
	if bound == 0 {
		bound = 30*time.Second + time.Duration(c.Heights)*2*time.Second
	}
	return max(c.GST, 0) + bound
}

// ReplayCommand is the exact command that reruns this configuration.
func (c Config) ReplayCommand() string {
	gst := "none"
	if c.GST != NoGST {
		gst = c.GST.String()
	}
	cmd := c.Command
	if cmd == "" {
		cmd = "bftnode sim"
	}
	return fmt.Sprintf("%s --validators %d --heights %d --gst %s --crashes %d --clock-skew %s --seed %d",
		cmd, c.Validators, c.Heights, gst, c.Crashes, c.ClockSkew, c.Seed)
}

// StepKind names what a validator's engine was handed.
type StepKind string

// The inputs of a step.
const (
	StepStart   StepKind = "start"   // the engine (re)started: handshake and WAL recovery
	StepDeliver StepKind = "deliver" // a message from a peer (Step.From)
	StepTimer   StepKind = "timer"   // a timer it set came due
	StepCrash   StepKind = "crash"   // the validator crashed
)

// Step is what Config.Observe is told: at virtual time At, validator Node
// handled an input of Kind (from peer From, or -1), after which its engine
// was at Status and had stored blocks up to Height; Err is the engine's
// failure, if it stopped.
type Step struct {
	At     time.Duration
	Node   int
	Kind   StepKind
	From   int
	Status msgs.Status
	Height int64
	Err    error
}
