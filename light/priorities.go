package light

import (
	"context"
	"fmt"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// ValidatorSetWithPriorities fetches the validator set at height keeping the
// proposer priorities the node reports, which a node's state needs to pick
// the next proposers (state sync builds its state from it), with proposer,
// the proposer named by the verified header of that height. The priorities
// are the node's word: the set's hash, which headers sign, does not cover
// them. The caller checks the set's hash against a verified header.
func (p *RPCProvider) ValidatorSetWithPriorities(ctx context.Context, height int64, proposer types.Address) (*types.ValidatorSet, error) {
	all, err := p.validators(ctx, height)
	if err != nil {
		return nil, err
	}
	pb := &typespb.ValidatorSet{Validators: make([]typespb.Validator, len(all)), ProposerAddress: proposer[:]}
	for i := range all {
		v, err := all[i].toValidator()
		if err != nil {
			return nil, fmt.Errorf("%s: validators at height %d: %w", p.addr, height, err)
		}
		v.ProposerPriority = all[i].ProposerPriority
		pb.Validators[i] = v.ToProto()
	}
	vs, err := types.ValidatorSetFromProto(pb)
	if err != nil {
		return nil, fmt.Errorf("%s: validators at height %d: %w", p.addr, height, err)
	}
	return vs, nil
}
