package sim

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bftnode/bftnode/consensus"
)

// Behaviour names a Byzantine strategy.
type Behaviour string

// The Byzantine behaviours. Byzantine validators collude: equivocating
// proposers show one block to one half of the correct validators and
// another block to the other half, and double-voters vote accordingly.
const (
	Correct    Behaviour = ""
	Equivocate Behaviour = "equivocate" // equivocating proposer, and double votes to match
	DoubleVote Behaviour = "doublevote" // two different prevotes and precommits per round
	Silent     Behaviour = "silent"     // sends nothing
	Amnesia    Behaviour = "amnesia"    // ignores its lock and valid value
	Garbage    Behaviour = "garbage"    // votes correctly, and also sends malformed and forged messages
	LockAttack Behaviour = "lockattack" // with the network before GST, attacks the locking rules (lockattack.go)
	FutureTime Behaviour = "futuretime" // its clock runs an hour ahead, and it dates its proposals an hour after BFT time
	Mix        Behaviour = "mix"        // each Byzantine validator picks one of equivocate … garbage by seed
)

// Behaviours lists the selectable Byzantine behaviours.
var Behaviours = []Behaviour{Equivocate, DoubleVote, Silent, Amnesia, Garbage, LockAttack, FutureTime, Mix}

// mixed lists the behaviours Mix picks from: the lock attack commands the
// whole network before GST, so it is not one validator's random pick.
// FutureTime came later: left out, so that a seed picks what it always
// picked and the regression seeds replay their runs.
var mixed = []Behaviour{Equivocate, DoubleVote, Silent, Amnesia, Garbage}

// FutureSkew is how far ahead a FutureTime validator's clock and proposed
// block times are.
const FutureSkew = time.Hour

// ParseBehaviour checks a behaviour name.
func ParseBehaviour(s string) (Behaviour, error) {
	if s == "" || s == "none" {
		return Correct, nil
	}
	b := Behaviour(s)
	if !slices.Contains(Behaviours, b) {
		names := make([]string, len(Behaviours))
		for i, x := range Behaviours {
			names[i] = string(x)
		}
		return "", fmt.Errorf("unknown behaviour %q (want none, %s)", s, strings.Join(names, ", "))
	}
	return b, nil
}

// NoGST disables GST: the network stays asynchronous for the whole run, and
// only safety is checked.
const NoGST time.Duration = -1

// Config describes one simulated run. The zero values of the optional fields
// take the defaults of DefaultConfig.
type Config struct {
	Validators int
	Byzantine  int
	Behaviour  Behaviour
	Heights    int64
	Seed       uint64

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
	case c.Byzantine < 0 || c.Byzantine > c.Validators:
		return fmt.Errorf("byzantine count %d out of range [0, %d]", c.Byzantine, c.Validators)
	case c.Byzantine > 0 && c.Behaviour == Correct:
		return fmt.Errorf("%d byzantine validators need a --behaviour", c.Byzantine)
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
	b := string(c.Behaviour)
	if b == "" {
		b = "none"
	}
	gst := "none"
	if c.GST != NoGST {
		gst = c.GST.String()
	}
	return fmt.Sprintf("bftnode sim --validators %d --byzantine %d --behaviour %s --heights %d --gst %s --crashes %d --clock-skew %s --seed %d",
		c.Validators, c.Byzantine, b, c.Heights, gst, c.Crashes, c.ClockSkew, c.Seed)
}
