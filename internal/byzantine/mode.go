package byzantine

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Mode names a misbehaviour for fault tests.
type Mode string

// The Byzantine modes.
const (
	// None is a correct node.
	None Mode = ""
	// Equivocate: as proposer, sign two different blocks for the
	// round, send one to half of the peers and the other to the rest, and
	// vote for both.
	Equivocate Mode = "equivocate"
	// DoubleVote: next to each own prevote and precommit, sign and
	// send a conflicting one (nil for a block, a made-up block for nil).
	DoubleVote Mode = "doublevote"
	// Amnesia: the core forgets its lock and valid value before
	// every step.
	Amnesia Mode = "amnesia"
	// Silent: sends no own proposal or vote and relays nothing.
	Silent Mode = "silent"
	// FutureTime: as proposer, send in place of its block the same
	// block dated FutureTimeSkew after its BFT time (the proposer's own
	// clock has no say in it), which correct validators must refuse.
	FutureTime Mode = "futuretime"
)

// LockAttack: split the correct validators' locks on a value as
// round-0 proposer, and then vote and propose for other values (see
// lockattack.go).
const LockAttack Mode = "lockattack"

// Garbage: next to each own message, send malformed ones made from it
// (see garbage.go).
const Garbage Mode = "garbage"

// FutureTimeSkew is how far ahead a FutureTime proposer dates its
// blocks.
const FutureTimeSkew = time.Hour

// modes lists the modes ParseMode accepts (besides "").
var modes = []Mode{Equivocate, DoubleVote, Amnesia, Silent, FutureTime, LockAttack, Garbage}

// ErrMode means an unknown Byzantine mode name.
var ErrMode = errors.New("byzantine: unknown mode")

// ParseMode parses a mode name; "" is None.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return None, nil
	}
	if m := Mode(s); slices.Contains(modes, m) {
		return m, nil
	}
	return None, fmt.Errorf("%w: %q (want one of %v)", ErrMode, s, modes)
}

// Modes lists the modes, None excepted.
func Modes() []Mode { return slices.Clone(modes) }
