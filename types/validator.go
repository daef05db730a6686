package types

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Validator is a member of the validator set.
type Validator struct {
	Address          Address
	PubKey           ed25519.PublicKey
	VotingPower      int64
	ProposerPriority int64
}

// NewValidator builds a validator from its public key and power.
func NewValidator(pub ed25519.PublicKey, power int64) *Validator {
	return &Validator{Address: AddressOf(pub), PubKey: pub, VotingPower: power}
}

// Proposer-selection constants, as in Tendermint's spec: priorities are kept
// within a window of twice the total power, new validators start behind by
// 1.125 times the total, and the total is capped so sums never overflow.
const (
	priorityWindowSizeFactor = 2
	MaxTotalVotingPower      = int64(math.MaxInt64) / 8
)

// ErrInvalidValidatorSet is returned for empty sets, non-positive powers,
// duplicate addresses, or a total power above MaxTotalVotingPower.
var ErrInvalidValidatorSet = errors.New("invalid validator set")

// ValidatorSet is an ordered set of validators (by voting power, descending,
// then address) with the proposer-priority state of weighted round-robin.
type ValidatorSet struct {
	Validators []*Validator
	proposer   *Validator
	total      int64
}

// NewValidatorSet builds a set from vals (which it copies) and selects the
// first proposer.
func NewValidatorSet(vals []*Validator) (*ValidatorSet, error) {
	vs := &ValidatorSet{}
	for _, v := range vals {
		c := *v
		vs.Validators = append(vs.Validators, &c)
	}
	if err := vs.checkAndSort(); err != nil {
		return nil, err
	}
	vs.IncrementProposerPriority(1)
	return vs, nil
}

func (vs *ValidatorSet) checkAndSort() error {
	if len(vs.Validators) == 0 {
		return fmt.Errorf("%w: no validators", ErrInvalidValidatorSet)
	}
	seen := make(map[Address]bool, len(vs.Validators))
	var total int64
	for _, v := range vs.Validators {
		if v.VotingPower <= 0 {
			return fmt.Errorf("%w: validator %X has power %d", ErrInvalidValidatorSet, v.Address[:6], v.VotingPower)
		}
		if len(v.PubKey) != ed25519.PublicKeySize || AddressOf(v.PubKey) != v.Address {
			return fmt.Errorf("%w: validator %X has a bad public key", ErrInvalidValidatorSet, v.Address[:6])
		}
		if seen[v.Address] {
			return fmt.Errorf("%w: duplicate validator %X", ErrInvalidValidatorSet, v.Address[:6])
		}
		seen[v.Address] = true
		total += v.VotingPower
		if total > MaxTotalVotingPower {
			return fmt.Errorf("%w: total voting power above %d", ErrInvalidValidatorSet, MaxTotalVotingPower)
		}
	}
	vs.total = total
	slices.SortFunc(vs.Validators, byVotingPower)
	return nil
}

// byVotingPower is the order of a validator set (and of a light client
// attack's byzantine validators): by voting power, highest first, then by
// address.
func byVotingPower(a, b *Validator) int {
	if a.VotingPower != b.VotingPower {
		return cmp.Compare(b.VotingPower, a.VotingPower)
	}
	return bytes.Compare(a.Address[:], b.Address[:])
}

// Size is the number of validators.
func (vs *ValidatorSet) Size() int { return len(vs.Validators) }

// TotalVotingPower is the sum of all voting powers.
func (vs *ValidatorSet) TotalVotingPower() int64 { return vs.total }

// Proposer is the validator whose turn it is (for round 0 of the height this
// set is used at).
func (vs *ValidatorSet) Proposer() *Validator { return vs.proposer }

// ByIndex returns the validator at idx, or nil when idx is out of range.
func (vs *ValidatorSet) ByIndex(idx int32) *Validator {
	if idx < 0 || int(idx) >= len(vs.Validators) {
		return nil
	}
	return vs.Validators[idx]
}

// ByAddress returns the index and validator with address addr, or -1, nil.
func (vs *ValidatorSet) ByAddress(addr Address) (int32, *Validator) {
	for i, v := range vs.Validators {
		if v.Address == addr {
			return int32(i), v
		}
	}
	return -1, nil
}

// Copy returns a deep copy (validators and priorities).
func (vs *ValidatorSet) Copy() *ValidatorSet {
	c := &ValidatorSet{total: vs.total, Validators: make([]*Validator, len(vs.Validators))}
	for i, v := range vs.Validators {
		cv := *v
		c.Validators[i] = &cv
		if v == vs.proposer {
			c.proposer = &cv
		}
	}
	return c
}

// ProposerForRound returns the proposer of round r at the height this set is
// used for: round 0 is Proposer(), later rounds advance the rotation r times.
func (vs *ValidatorSet) ProposerForRound(r int32) *Validator {
	if r <= 0 {
		return vs.proposer
	}
	c := vs.Copy()
	c.IncrementProposerPriority(r)
	return c.proposer
}

// IncrementProposerPriority runs weighted round-robin `times` times: every
// validator gains its power, the highest priority proposes (ties go to the
// lower address) and pays the total power back.
func (vs *ValidatorSet) IncrementProposerPriority(times int32) {
	vs.rescalePriorities(priorityWindowSizeFactor * vs.total)
	vs.centerPriorities()
	for i := int32(0); i < times; i++ {
		var best *Validator
		for _, v := range vs.Validators {
			v.ProposerPriority = safeAdd(v.ProposerPriority, v.VotingPower)
			if best == nil || v.ProposerPriority > best.ProposerPriority ||
				(v.ProposerPriority == best.ProposerPriority && bytes.Compare(v.Address[:], best.Address[:]) < 0) {
				best = v
			}
		}
		best.ProposerPriority = safeAdd(best.ProposerPriority, -vs.total)
		vs.proposer = best
	}
}

// rescalePriorities divides all priorities so that the spread between the
// highest and lowest stays within maxDiff.
func (vs *ValidatorSet) rescalePriorities(maxDiff int64) {
	if maxDiff <= 0 {
		return
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, v := range vs.Validators {
		lo, hi = min(lo, v.ProposerPriority), max(hi, v.ProposerPriority)
	}
	diff := hi - lo
	if diff <= maxDiff {
		return
	}
	ratio := (diff + maxDiff - 1) / maxDiff
	for _, v := range vs.Validators {
		v.ProposerPriority /= ratio
	}
}

// centerPriorities shifts priorities so that their average is zero.
func (vs *ValidatorSet) centerPriorities() {
	var sum int64
	for _, v := range vs.Validators {
		sum += v.ProposerPriority
	}
	avg := sum / int64(len(vs.Validators))
	for _, v := range vs.Validators {
		v.ProposerPriority = safeAdd(v.ProposerPriority, -avg)
	}
}

func safeAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

// Hash is the Merkle root over each validator's public key and power (as
// CometBFT's SimpleValidator), so it commits to membership and weights but
// not to priorities.
func (vs *ValidatorSet) Hash() Hash {
	items := make([][]byte, len(vs.Validators))
	for i, v := range vs.Validators {
		items[i] = appendSimpleValidator(nil, v)
	}
	return MerkleRoot(items)
}

// ValidatorUpdate changes one validator's power; power 0 removes it.
type ValidatorUpdate struct {
	PubKey ed25519.PublicKey
	Power  int64
}

// Update returns a new set with updates applied, for use two heights after the
// block that returned them. Removed validators go; changed powers take effect;
// new validators start with priority -1.125 × total, behind everyone else, so
// they cannot jump the queue. Priorities are then rescaled and centred.
func (vs *ValidatorSet) Update(updates []ValidatorUpdate) (*ValidatorSet, error) {
	next := vs.Copy()
	byAddr := make(map[Address]*Validator, len(next.Validators))
	for _, v := range next.Validators {
		byAddr[v.Address] = v
	}
	var added []*Validator
	for _, u := range updates {
		if len(u.PubKey) != ed25519.PublicKeySize || u.Power < 0 {
			return nil, fmt.Errorf("%w: bad update (key %d bytes, power %d)", ErrInvalidValidatorSet, len(u.PubKey), u.Power)
		}
		addr := AddressOf(u.PubKey)
		switch v, ok := byAddr[addr]; {
		case ok && u.Power == 0:
			delete(byAddr, addr)
		case ok:
			v.VotingPower = u.Power
		case u.Power == 0:
			return nil, fmt.Errorf("%w: removing unknown validator %X", ErrInvalidValidatorSet, addr[:6])
		default:
			nv := NewValidator(u.PubKey, u.Power)
			byAddr[addr] = nv
			added = append(added, nv)
		}
	}
	next.Validators = next.Validators[:0]
	for _, v := range byAddr {
		next.Validators = append(next.Validators, v)
	}
	if err := next.checkAndSort(); err != nil {
		return nil, err
	}
	for _, v := range added {
		v.ProposerPriority = -(next.total + next.total/8)
	}
	next.rescalePriorities(priorityWindowSizeFactor * next.total)
	next.centerPriorities()
	if _, p := next.ByAddress(vs.proposer.Address); p != nil {
		next.proposer = p
	} else {
		next.proposer = next.Validators[0]
	}
	return next, nil
}
