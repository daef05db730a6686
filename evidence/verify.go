package evidence

import (
	"errors"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Params are the consensus parameters of evidence (CometBFT's
// EvidenceParams): evidence expires when it is more than MaxAgeNumBlocks
// blocks AND more than MaxAgeDuration older than the last block; a block
// carries at most MaxBytes of evidence.
type Params struct {
	MaxAgeNumBlocks int64
	MaxAgeDuration  time.Duration
	MaxBytes        int64
}

// State is what the pool needs of the chain's state: the chain ID, the
// height and time of the last committed block and the evidence parameters.
type State struct {
	ChainID string
	Height  int64
	Time    time.Time
	Params  Params
}

// Chain is the pool's view of the chain. ValidatorsAt is the validator set
// that signed the block at height and HeaderAt that block's header;
// CommitAt is its canonical commit, the one the next block carries (so
// there is none yet for the latest block). All fail for a height the node
// does not have (pruned or not yet committed).
type Chain interface {
	State() State
	ValidatorsAt(height int64) (*types.ValidatorSet, error)
	HeaderAt(height int64) (*types.Header, error)
	CommitAt(height int64) (*types.Commit, error)
}

// Sentinel errors, wrapped with the evidence concerned. Refused evidence
// also wraps the types error that says why (types.ErrBadSignature,
// types.ErrUnknownValidator, types.ErrInvalidEvidence).
var (
	ErrInvalid      = errors.New("evidence: invalid")
	ErrFutureHeight = errors.New("evidence: from a height the chain has not reached")
	ErrNoState      = errors.New("evidence: no block or validator set at its height")
	ErrWrongTime    = errors.New("evidence: time differs from its block's")
	ErrExpired      = errors.New("evidence: expired")
	ErrCommitted    = errors.New("evidence: already committed")
	ErrDuplicate    = errors.New("evidence: twice in one block")
	ErrTooLarge     = errors.New("evidence: more than max_bytes in one block")
	ErrCorrupt      = errors.New("evidence: corrupt pool database")
)

// reasons names each refusal in the metrics, most specific first.
var reasons = []struct {
	err  error
	name string
}{
	{types.ErrBadSignature, "bad_signature"},
	{types.ErrUnknownValidator, "unknown_validator"},
	{ErrInvalid, "invalid"},
	{ErrFutureHeight, "future_height"},
	{ErrNoState, "no_state"},
	{ErrWrongTime, "wrong_time"},
	{ErrExpired, "expired"},
	{ErrCommitted, "committed"},
	{ErrDuplicate, "duplicate"},
	{ErrTooLarge, "too_large"},
}

// Reason is the metrics label of a refusal: one of bad_signature,
// unknown_validator, invalid, future_height, no_state, wrong_time, expired,
// committed, duplicate, too_large, or other.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// Refused reports whether err is the pool refusing evidence (any of the
// reasons above) rather than failing to read or write its database.
func Refused(err error) bool { return Reason(err) != "other" }

// Invalid reports whether err says the evidence proves nothing: it does not
// hold together, is not signed by a validator of its height or gives its
// block a wrong time. Evidence that is merely stale (expired, committed) or
// from a height this node lacks is not invalid: an honest peer can send it.
func Invalid(err error) bool {
	switch Reason(err) {
	case "bad_signature", "unknown_validator", "invalid", "wrong_time":
		return true
	}
	return false
}

// Expired reports whether evidence of height evHeight and time evTime is
// too old in state st: older than both max_age_num_blocks and
// max_age_duration, as CometBFT's IsEvidenceExpired.
func Expired(st State, evHeight int64, evTime time.Time) bool {
	return st.Height-evHeight > st.Params.MaxAgeNumBlocks && st.Time.Sub(evTime) > st.Params.MaxAgeDuration
}

// verify checks ev against the chain in state st: ValidateBasic, a
// committed height, the time of its block, its age and the validator set
// and headers of the chain it must prove misbehaviour against.
func verify(chain Chain, st State, ev types.Evidence) error {
	if err := ev.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h := ev.Height()
	if h > st.Height {
		return fmt.Errorf("%w: %s at height %d, last block %d", ErrFutureHeight, ev, h, st.Height)
	}
	header, err := chain.HeaderAt(h)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoState, ev, err)
	}
	if blockTime := header.Time; !ev.Time().Equal(blockTime) {
		return fmt.Errorf("%w: %s has time %s, block %d has %s", ErrWrongTime, ev, ev.Time(), h, blockTime)
	}
	if Expired(st, h, header.Time) {
		return fmt.Errorf("%w: %s from height %d (%s), last block %d (%s), max age %d blocks and %s",
			ErrExpired, ev, h, header.Time, st.Height, st.Time, st.Params.MaxAgeNumBlocks, st.Params.MaxAgeDuration)
	}
	vals, err := chain.ValidatorsAt(h)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoState, ev, err)
	}
	switch e := ev.(type) {
	case *types.DuplicateVoteEvidence:
		err = e.Verify(st.ChainID, vals)
	case *types.LightClientAttackEvidence:
		err = verifyLightClientAttack(chain, st, e, header, vals)
	default:
		err = fmt.Errorf("unknown evidence type %T", ev)
	}
	if err != nil && !errors.Is(err, ErrNoState) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// verifyLightClientAttack checks a light client attack against the
// chain's signed headers at the common height and at the conflicting
// block's height (the latest, for a block above the chain). Each needs
// its canonical commit, which the next block carries: evidence naming the
// latest block is refused (ErrNoState) until the next one is committed, as
// in CometBFT.
func verifyLightClientAttack(chain Chain, st State, e *types.LightClientAttackEvidence, header *types.Header, vals *types.ValidatorSet) error {
	common, err := signedHeader(chain, e, e.CommonHeight, header)
	if err != nil {
		return err
	}
	trusted := common
	if th := min(e.ConflictingBlock.Header.Height, st.Height); th != e.CommonHeight {
		if trusted, err = signedHeader(chain, e, th, nil); err != nil {
			return err
		}
	}
	return e.Verify(st.ChainID, common, trusted, vals)
}

// signedHeader is the chain's header (header, when already read) and
// canonical commit at height.
func signedHeader(chain Chain, ev types.Evidence, height int64, header *types.Header) (*types.SignedHeader, error) {
	var err error
	if header == nil {
		if header, err = chain.HeaderAt(height); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoState, ev, err)
		}
	}
	commit, err := chain.CommitAt(height)
	if err != nil {
		return nil, fmt.Errorf("%w: %s needs the commit of height %d, which the next block carries (retry once it is committed): %w", ErrNoState, ev, height, err)
	}
	return &types.SignedHeader{Header: header, Commit: commit}, nil
}
