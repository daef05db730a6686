package blockstore

import (
	"fmt"
	"time"

	storepb "github.com/bftnode/bftnode/proto/bftnode/store"
	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// State is the node's state after its last committed block: what the next
// height is validated and executed against.
type State struct {
	ChainID       string
	InitialHeight int64

	LastBlockHeight int64 // InitialHeight-1 before the first block
	LastBlockID     types.BlockID
	LastBlockTime   time.Time

	// Validators validate height LastBlockHeight+1, NextValidators the
	// height after it, LastValidators LastBlockHeight (nil before the first
	// block). Each keeps its proposer-selection state.
	Validators                  *types.ValidatorSet
	NextValidators              *types.ValidatorSet
	LastValidators              *types.ValidatorSet
	LastHeightValidatorsChanged int64

	ConsensusParams ConsensusParams
	LastResultsHash types.Hash
	AppHash         []byte
	// AppVersion is the application's protocol version (from Info at
	// genesis), which headers carry.
	AppVersion uint64
}

// HeaderVersion is the version a header made in this state carries.
func (st *State) HeaderVersion() types.Version {
	return types.Version{Block: types.BlockProtocol, App: st.AppVersion}
}

// valSetToProto converts a set that may be nil or empty (nil for both).
func valSetToProto(vs *types.ValidatorSet) *typespb.ValidatorSet {
	if vs == nil || vs.Size() == 0 {
		return nil
	}
	return vs.ToProto()
}

// valSetFromProto converts a set that may be absent.
func valSetFromProto(pb *typespb.ValidatorSet, what string) (*types.ValidatorSet, error) {
	if pb == nil {
		return nil, nil
	}
	vs, err := types.ValidatorSetFromProto(pb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return vs, nil
}

func (st *State) toProto() *storepb.State {
	return &storepb.State{
		ChainID:                     st.ChainID,
		InitialHeight:               st.InitialHeight,
		LastBlockHeight:             st.LastBlockHeight,
		LastBlockID:                 st.LastBlockID.ToProto(),
		LastBlockTime:               st.LastBlockTime,
		Validators:                  valSetToProto(st.Validators),
		NextValidators:              valSetToProto(st.NextValidators),
		LastValidators:              valSetToProto(st.LastValidators),
		LastHeightValidatorsChanged: st.LastHeightValidatorsChanged,
		ConsensusParams:             st.ConsensusParams.toStore(),
		LastResultsHash:             st.LastResultsHash[:],
		AppHash:                     st.AppHash,
		AppVersion:                  st.AppVersion,
	}
}

func stateFromProto(pb *storepb.State) (*State, error) {
	st := &State{
		ChainID:                     pb.ChainID,
		InitialHeight:               pb.InitialHeight,
		LastBlockHeight:             pb.LastBlockHeight,
		LastBlockTime:               pb.LastBlockTime,
		LastHeightValidatorsChanged: pb.LastHeightValidatorsChanged,
		ConsensusParams:             paramsFromStore(&pb.ConsensusParams),
		AppHash:                     pb.AppHash,
		AppVersion:                  pb.AppVersion,
	}
	var err error
	if st.LastBlockID, err = types.BlockIDFromProto(&pb.LastBlockID); err != nil {
		return nil, fmt.Errorf("last block ID: %w", err)
	}
	if len(pb.LastResultsHash) != len(st.LastResultsHash) {
		return nil, fmt.Errorf("last results hash is %d bytes, want %d", len(pb.LastResultsHash), len(st.LastResultsHash))
	}
	copy(st.LastResultsHash[:], pb.LastResultsHash)
	if st.Validators, err = valSetFromProto(pb.Validators, "validators"); err != nil {
		return nil, err
	}
	if st.NextValidators, err = valSetFromProto(pb.NextValidators, "next validators"); err != nil {
		return nil, err
	}
	if st.LastValidators, err = valSetFromProto(pb.LastValidators, "last validators"); err != nil {
		return nil, err
	}
	return st, nil
}

// SaveState adds st to the batch, the validator sets it holds under the
// heights they validate and its consensus parameters under the height they
// are in force at (the next), so LoadValidators and LoadConsensusParams
// answer for every height the node has passed through.
func (b *Batch) SaveState(st *State) error {
	pb := st.toProto()
	if err := b.set(stateKey(), pb, "state"); err != nil {
		return err
	}
	if err := b.set(heightKey(kindConsensusParams, st.LastBlockHeight+1), &pb.ConsensusParams, "consensus params"); err != nil {
		return err
	}
	for _, hv := range []struct {
		height int64
		vals   *types.ValidatorSet
	}{
		{st.LastBlockHeight, st.LastValidators},
		{st.LastBlockHeight + 1, st.Validators},
		{st.LastBlockHeight + 2, st.NextValidators},
	} {
		if hv.height <= 0 || hv.vals == nil || hv.vals.Size() == 0 {
			continue
		}
		if err := b.set(heightKey(kindValidators, hv.height), hv.vals.ToProto(), "validators"); err != nil {
			return err
		}
	}
	return nil
}

// SaveFinalizeBlockResponse adds the application's FinalizeBlock response
// for height (opaque bytes) to the batch.
func (b *Batch) SaveFinalizeBlockResponse(height int64, resp []byte) error {
	return b.setRaw(heightKey(kindFinalizeResponse, height), resp)
}

// SaveState saves st in its own synced batch (see Batch.SaveState).
func (s *Store) SaveState(st *State) error {
	return s.write(func(b *Batch) error { return b.SaveState(st) })
}

// SaveFinalizeBlockResponse saves a FinalizeBlock response in its own
// synced batch.
func (s *Store) SaveFinalizeBlockResponse(height int64, resp []byte) error {
	return s.write(func(b *Batch) error { return b.SaveFinalizeBlockResponse(height, resp) })
}

// SaveDecided saves, in one synced batch, what deciding a height leaves:
// the block with its ID and the node's seen commit for it (see
// Batch.SaveBlock), that commit with its vote extensions when ext is not
// nil, the application's FinalizeBlock response for it (opaque bytes; they
// hold the tx results) and the state after it.
func (s *Store) SaveDecided(block *types.Block, blockID types.BlockID, seenCommit *types.Commit, ext *types.ExtendedCommit, finalizeResp []byte, st *State) error {
	return s.write(func(b *Batch) error {
		if err := b.SaveBlock(block, blockID, seenCommit); err != nil {
			return err
		}
		if ext != nil {
			if err := b.SaveExtendedCommit(ext); err != nil {
				return err
			}
		}
		return b.saveExecuted(block.Header.Height, finalizeResp, st)
	})
}

// SaveExecuted saves, in one synced batch, the FinalizeBlock response of
// a block stored already (executed again after a rollback) and the state
// after it.
func (s *Store) SaveExecuted(height int64, finalizeResp []byte, st *State) error {
	return s.write(func(b *Batch) error { return b.saveExecuted(height, finalizeResp, st) })
}

// saveExecuted adds the FinalizeBlock response of height and the state
// after that block to the batch.
func (b *Batch) saveExecuted(height int64, finalizeResp []byte, st *State) error {
	if err := b.SaveFinalizeBlockResponse(height, finalizeResp); err != nil {
		return err
	}
	return b.SaveState(st)
}

// LoadState returns the last saved state; ErrNotFound before the first
// SaveState.
func (s *Store) LoadState() (*State, error) {
	return load(s, stateKey(), "state", stateFromProto)
}

// LoadValidators returns the validator set of height, with the proposer
// priorities it had at that height.
func (s *Store) LoadValidators(height int64) (*types.ValidatorSet, error) {
	return load(s, heightKey(kindValidators, height), fmt.Sprintf("validators at height %d", height), types.ValidatorSetFromProto)
}

// LoadFinalizeBlockResponse returns the FinalizeBlock response saved for
// height.
func (s *Store) LoadFinalizeBlockResponse(height int64) ([]byte, error) {
	var resp []byte
	err := s.get(heightKey(kindFinalizeResponse, height), fmt.Sprintf("FinalizeBlock response at height %d", height), func(v []byte) error {
		resp = append([]byte(nil), v...)
		return nil
	})
	return resp, err
}
