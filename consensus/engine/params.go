package engine

import (
	"fmt"

	"github.com/bftnode/bftnode/blockstore"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// defaultMaxBlockBytes is block.max_bytes for a genesis that sets none.
const defaultMaxBlockBytes = 4 << 20

// applyParamUpdates applies to next, the state after height h, the
// consensus parameter updates u the application returned from call
// (FinalizeBlock of h, or InitChain before the first height): they take
// effect at the next height, as in CometBFT, and an update of version.app
// becomes the version headers carry. An update that breaks the protocol's
// rules stops the node (an ErrApp error naming the rule) before the state
// is saved: the application is at fault, and every honest node refuses it
// alike.
func applyParamUpdates(next *blockstore.State, h int64, u *tmtypes.ConsensusParams, call string) error {
	p, err := next.ConsensusParams.Update(u, h)
	if err != nil {
		return fmt.Errorf("%w: %s returned consensus parameter updates that cannot apply after height %d: %w; "+
			"the node stops before saving them: fix the application so that it returns a valid update, then restart the node", ErrApp, call, h, err)
	}
	next.ConsensusParams = p
	if u != nil && u.Version != nil {
		next.AppVersion = p.AppVersion
	}
	return nil
}

// maxTxBytes is how many bytes of txs a proposal may carry besides evs and
// the last commit (none at the first height), under the parameters in
// force.
func (e *Engine) maxTxBytes(evs types.EvidenceList) int64 {
	var signers int
	if lv := e.state.LastValidators; lv != nil {
		signers = lv.Size()
	}
	return e.state.ConsensusParams.MaxDataBytes(evidenceBytes(evs), signers)
}

// checkBlockSize refuses a block whose encoding exceeds block.max_bytes.
func (e *Engine) checkBlockSize(b *types.Block) error {
	size, limit := int64(b.ToProto().Size()), e.state.ConsensusParams.BlockMaxBytes()
	if size > limit {
		return fmt.Errorf("%w: the block is %d bytes, more than block.max_bytes %d", types.ErrInvalidBlock, size, limit)
	}
	return nil
}
