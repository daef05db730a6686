package light

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/bftnode/bftnode/types"
)

// TrustLevel is the fraction of a trusted validator set's power that must
// have signed a header the client skips to. It lies in [1/3, 1]: less than
// 1/3 could be all Byzantine validators.
type TrustLevel struct {
	Numerator, Denominator int64
}

// DefaultTrustLevel is 1/3, as in CometBFT: at least one correct validator
// of the trusted set signed.
var DefaultTrustLevel = TrustLevel{Numerator: 1, Denominator: 3}

// ErrBadTrustLevel is returned for a trust level outside [1/3, 1].
var ErrBadTrustLevel = errors.New("trust level must be a fraction in [1/3, 1], such as 1/3 or 2/3")

// Validate checks that tl is within [1/3, 1].
func (tl TrustLevel) Validate() error {
	if tl.Denominator <= 0 || tl.Numerator <= 0 || tl.Numerator > tl.Denominator || 3*tl.Numerator < tl.Denominator {
		return fmt.Errorf("%w: got %s", ErrBadTrustLevel, tl)
	}
	return nil
}

func (tl TrustLevel) String() string { return fmt.Sprintf("%d/%d", tl.Numerator, tl.Denominator) }

// ParseTrustLevel reads "N/D" and checks it.
func ParseTrustLevel(s string) (TrustLevel, error) {
	num, den, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	d, err2 := strconv.ParseInt(strings.TrimSpace(den), 10, 64)
	if !ok || err1 != nil || err2 != nil || d > 1<<20 {
		return TrustLevel{}, fmt.Errorf("%w: cannot read %q", ErrBadTrustLevel, s)
	}
	tl := TrustLevel{Numerator: n, Denominator: d}
	return tl, tl.Validate()
}

// exceeds reports whether power > total·num/den, without overflow.
func exceeds(power, total, num, den int64) bool {
	hiL, loL := bits.Mul64(uint64(power), uint64(den))
	hiR, loR := bits.Mul64(uint64(total), uint64(num))
	return hiL > hiR || (hiL == hiR && loL > loR)
}

// VerifyOptions are the parameters of verification.
type VerifyOptions struct {
	// TrustingPeriod is how long a verified header vouches for the
	// validators that signed it; it must be shorter than the chain's
	// unbonding period.
	TrustingPeriod time.Duration
	// TrustLevel is the share of the trusted set that must sign a header
	// the client skips to.
	TrustLevel TrustLevel
	// MaxClockDrift is how far in the future (by the client's clock) a
	// header's time may be.
	MaxClockDrift time.Duration
}

// Verification errors.
var (
	// ErrOldHeaderExpired: the trusted header is older than the trusting
	// period, so its validators may have unbonded; the client needs a new
	// trusted header from a source it trusts.
	ErrOldHeaderExpired = errors.New("trusted header expired")
	// ErrInvalidHeader: the new header does not follow the trusted one
	// (chain, height, time, validators hash chaining, a bad commit).
	ErrInvalidHeader = errors.New("invalid header")
	// ErrNotEnoughTrust: too little of the trusted set signed the new
	// header; the client verifies a header in between first.
	ErrNotEnoughTrust = errors.New("not enough of the trusted validator set signed")
)

// Verify checks untrusted against trusted: VerifyAdjacent when it is the
// next height, VerifyNonAdjacent otherwise. now is the client's clock.
func Verify(chainID string, trusted, untrusted *LightBlock, opts VerifyOptions, now time.Time) error {
	if untrusted.Header != nil && untrusted.Header.Height == trusted.Header.Height+1 {
		return VerifyAdjacent(chainID, trusted, untrusted, opts, now)
	}
	return VerifyNonAdjacent(chainID, trusted, untrusted, opts, now)
}

// VerifyAdjacent checks a header at the height after the trusted one: the
// trusted header names its validators (NextValidatorsHash), and more than
// 2/3 of them signed its commit.
func VerifyAdjacent(chainID string, trusted, untrusted *LightBlock, opts VerifyOptions, now time.Time) error {
	if err := checkFollows(chainID, trusted, untrusted, opts, now); err != nil {
		return err
	}
	if untrusted.Header.Height != trusted.Header.Height+1 {
		return fmt.Errorf("%w: height %d is not adjacent to %d", ErrInvalidHeader, untrusted.Header.Height, trusted.Header.Height)
	}
	if untrusted.Header.ValidatorsHash != trusted.Header.NextValidatorsHash {
		return fmt.Errorf("%w: validators hash %X at height %d, the trusted header at %d names %X as the next set",
			ErrInvalidHeader, untrusted.Header.ValidatorsHash, untrusted.Header.Height, trusted.Header.Height, trusted.Header.NextValidatorsHash)
	}
	return verifyOwnCommit(chainID, untrusted)
}

// VerifyNonAdjacent checks a header more than one height after the trusted
// one: validators of the trusted set holding more than the trust level of
// its power signed its commit (ErrNotEnoughTrust otherwise), and more than
// 2/3 of its own set did.
func VerifyNonAdjacent(chainID string, trusted, untrusted *LightBlock, opts VerifyOptions, now time.Time) error {
	if err := checkFollows(chainID, trusted, untrusted, opts, now); err != nil {
		return err
	}
	if untrusted.Header.Height == trusted.Header.Height+1 {
		return fmt.Errorf("%w: height %d is adjacent to %d: verify it with VerifyAdjacent", ErrInvalidHeader, untrusted.Header.Height, trusted.Header.Height)
	}
	if err := VerifyCommitTrusting(chainID, trusted.ValidatorSet, untrusted.Commit, opts.TrustLevel); err != nil {
		return err
	}
	return verifyOwnCommit(chainID, untrusted)
}

// checkFollows holds the checks common to both kinds of step.
func checkFollows(chainID string, trusted, untrusted *LightBlock, opts VerifyOptions, now time.Time) error {
	if err := opts.TrustLevel.Validate(); err != nil {
		return err
	}
	if expires := trusted.Header.Time.Add(opts.TrustingPeriod); !now.Before(expires) {
		return fmt.Errorf("%w: the header at height %d (time %s) expired at %s (trusting period %s); start again from a header you trust (--height, --hash)",
			ErrOldHeaderExpired, trusted.Header.Height, trusted.Header.Time.UTC().Format(time.RFC3339), expires.UTC().Format(time.RFC3339), opts.TrustingPeriod)
	}
	if err := untrusted.ValidateBasic(chainID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidHeader, err)
	}
	h := untrusted.Header
	switch {
	case h.Height <= trusted.Header.Height:
		return fmt.Errorf("%w: height %d is not above the trusted height %d", ErrInvalidHeader, h.Height, trusted.Header.Height)
	case !h.Time.After(trusted.Header.Time):
		return fmt.Errorf("%w: time %s at height %d is not after the trusted header's %s", ErrInvalidHeader,
			h.Time.UTC().Format(time.RFC3339Nano), h.Height, trusted.Header.Time.UTC().Format(time.RFC3339Nano))
	case !h.Time.Before(now.Add(opts.MaxClockDrift)):
		return fmt.Errorf("%w: time %s at height %d is in the future (now %s, max clock drift %s)", ErrInvalidHeader,
			h.Time.UTC().Format(time.RFC3339Nano), h.Height, now.UTC().Format(time.RFC3339Nano), opts.MaxClockDrift)
	}
	return nil
}

func verifyOwnCommit(chainID string, lb *LightBlock) error {
	if err := VerifyCommitLight(chainID, lb.ValidatorSet, lb.Commit.BlockID, lb.Header.Height, lb.Commit); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidHeader, err)
	}
	return nil
}

// VerifyCommitLight checks that more than 2/3 of vals' power signed commit
// for blockID at height. Unlike types.(*ValidatorSet).VerifyCommit it only
// checks the signatures for the block, and stops once they are enough: a
// light client needs the +2/3 and nothing else.
func VerifyCommitLight(chainID string, vals *types.ValidatorSet, blockID types.BlockID, height int64, commit *types.Commit) error {
	switch {
	case commit.Height != height:
		return fmt.Errorf("%w: height %d, want %d", types.ErrInvalidCommit, commit.Height, height)
	case commit.BlockID != blockID:
		return fmt.Errorf("%w: for block %s, want %s", types.ErrInvalidCommit, commit.BlockID, blockID)
	case len(commit.Signatures) != vals.Size():
		return fmt.Errorf("%w: %d signatures for %d validators", types.ErrInvalidCommit, len(commit.Signatures), vals.Size())
	}
	total := vals.TotalVotingPower()
	var power int64
	for i, sig := range commit.Signatures {
		if sig.Flag != types.BlockIDFlagCommit {
			continue
		}
		if err := types.VerifyVote(chainID, vals, commit.VoteAt(i)); err != nil {
			return fmt.Errorf("%w: slot %d: %w", types.ErrInvalidCommit, i, err)
		}
		power += vals.Validators[i].VotingPower
		if exceeds(power, total, 2, 3) {
			return nil
		}
	}
	return fmt.Errorf("%w: only %d of %d voting power signed at height %d", types.ErrInvalidCommit, power, total, height)
}

// VerifyCommitTrusting checks that validators of trusted (an older set)
// holding more than level of its power signed commit. The commit is in
// another set's order, so signers are found by address; a signer that is
// not in trusted is passed over, one that appears twice is an error.
func VerifyCommitTrusting(chainID string, trusted *types.ValidatorSet, commit *types.Commit, level TrustLevel) error {
	total := trusted.TotalVotingPower()
	seen := make(map[int32]bool, len(commit.Signatures))
	var power int64
	for i, sig := range commit.Signatures {
		if sig.Flag != types.BlockIDFlagCommit {
			continue
		}
		idx, val := trusted.ByAddress(sig.ValidatorAddress)
		if val == nil {
			continue
		}
		if seen[idx] {
			return fmt.Errorf("%w: validator %X signed twice (slot %d)", types.ErrInvalidCommit, sig.ValidatorAddress, i)
		}
		seen[idx] = true
		vote := commit.VoteAt(i)
		vote.ValidatorIndex = idx
		if err := types.VerifyVote(chainID, trusted, vote); err != nil {
			return fmt.Errorf("%w: slot %d: %w", types.ErrInvalidCommit, i, err)
		}
		power += val.VotingPower
		if exceeds(power, total, level.Numerator, level.Denominator) {
			return nil
		}
	}
	return fmt.Errorf("%w: %d of %d voting power signed height %d, more than %s needed", ErrNotEnoughTrust, power, total, commit.Height, level)
}
