package light

import (
	"errors"
	"fmt"

	"github.com/bftnode/bftnode/types"
)

// LightBlock is what the client verifies at one height: the header, the
// commit that decided it, and the validator set that signed that commit.
type LightBlock struct {
	Header       *types.Header
	Commit       *types.Commit
	ValidatorSet *types.ValidatorSet
}

// Height is the header's height.
func (lb *LightBlock) Height() int64 { return lb.Header.Height }

// Hash is the header's hash, the block's identity.
func (lb *LightBlock) Hash() types.Hash { return lb.Header.Hash() }

// ErrInvalidLightBlock is wrapped by ValidateBasic errors: a light block
// that does not hold together on its own, whatever the client trusts.
var ErrInvalidLightBlock = errors.New("invalid light block")

// ValidateBasic checks what a light block shows about itself: it is
// complete, of chainID, its commit is for its header, and its validator set
// is the one the header names. It does not check a single signature.
func (lb *LightBlock) ValidateBasic(chainID string) error {
	switch {
	case lb == nil || lb.Header == nil:
		return fmt.Errorf("%w: no header", ErrInvalidLightBlock)
	case lb.Commit == nil:
		return fmt.Errorf("%w: no commit at height %d", ErrInvalidLightBlock, lb.Header.Height)
	case lb.ValidatorSet == nil:
		return fmt.Errorf("%w: no validator set at height %d", ErrInvalidLightBlock, lb.Header.Height)
	case lb.Header.ChainID != chainID:
		return fmt.Errorf("%w: chain ID %q, want %q", ErrInvalidLightBlock, lb.Header.ChainID, chainID)
	case lb.Header.Height <= 0:
		return fmt.Errorf("%w: height %d", ErrInvalidLightBlock, lb.Header.Height)
	case lb.Commit.Height != lb.Header.Height:
		return fmt.Errorf("%w: commit for height %d in the light block of height %d", ErrInvalidLightBlock, lb.Commit.Height, lb.Header.Height)
	}
	if h := lb.Hash(); lb.Commit.BlockID.Hash != h {
		return fmt.Errorf("%w: commit at height %d signs block %X, the header hashes to %X", ErrInvalidLightBlock, lb.Header.Height, lb.Commit.BlockID.Hash, h)
	}
	if h := lb.ValidatorSet.Hash(); h != lb.Header.ValidatorsHash {
		return fmt.Errorf("%w: validator set at height %d hashes to %X, the header says %X", ErrInvalidLightBlock, lb.Header.Height, h, lb.Header.ValidatorsHash)
	}
	return nil
}

// toTypes is the light block as the types package has it (in evidence).
func (lb *LightBlock) toTypes() *types.LightBlock {
	return &types.LightBlock{SignedHeader: types.SignedHeader{Header: lb.Header, Commit: lb.Commit}, ValidatorSet: lb.ValidatorSet}
}
