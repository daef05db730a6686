package engine

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/types"
)

// MemStore is the in-memory fake of the BlockStore port: every save is
// durable at once and atomic. Like *blockstore.Store it keeps the validator
// sets a state holds under the heights they validate, refuses a block that
// does not follow the last one or comes with another's commit, and answers
// a missing value with an error wrapping blockstore.ErrNotFound. It is safe
// for concurrent use.
type MemStore struct {
	mu         sync.RWMutex
	base       int64
	height     int64
	blocks     map[int64]*types.Block
	seen       map[int64]*types.Commit
	extended   map[int64]*types.ExtendedCommit
	responses  map[int64][]byte
	validators map[int64]*types.ValidatorSet
	txs        map[[32]byte]bool
	state      *blockstore.State
}

var _ BlockStore = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		blocks:     map[int64]*types.Block{},
		seen:       map[int64]*types.Commit{},
		extended:   map[int64]*types.ExtendedCommit{},
		responses:  map[int64][]byte{},
		validators: map[int64]*types.ValidatorSet{},
		txs:        map[[32]byte]bool{},
	}
}

// Base is the lowest stored height (0 when empty).
func (m *MemStore) Base() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.base
}

// Height is the highest stored height (0 when empty).
func (m *MemStore) Height() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.height
}

// LoadBlock returns the block at height.
func (m *MemStore) LoadBlock(height int64) (*types.Block, error) {
	return get(m, m.blocks, height, "block")
}

// LoadBlockCommit returns the commit for height that block height+1
// carries.
func (m *MemStore) LoadBlockCommit(height int64) (*types.Commit, error) {
	b, err := get(m, m.blocks, height+1, "block")
	if err != nil || b.LastCommit == nil {
		return nil, fmt.Errorf("%w: commit at height %d", blockstore.ErrNotFound, height)
	}
	return b.LastCommit, nil
}

// LoadSeenCommit returns the commit this node saw for height.
func (m *MemStore) LoadSeenCommit(height int64) (*types.Commit, error) {
	return get(m, m.seen, height, "seen commit")
}

// LoadExtendedCommit returns the seen commit of height with its vote
// extensions, saved only where extensions were in force.
func (m *MemStore) LoadExtendedCommit(height int64) (*types.ExtendedCommit, error) {
	return get(m, m.extended, height, "extended commit")
}

// LoadValidators returns the validator set of height.
func (m *MemStore) LoadValidators(height int64) (*types.ValidatorSet, error) {
	vs, err := get(m, m.validators, height, "validators")
	if err != nil {
		return nil, err
	}
	return vs.Copy(), nil
}

// LoadFinalizeBlockResponse returns the FinalizeBlock response of height.
func (m *MemStore) LoadFinalizeBlockResponse(height int64) ([]byte, error) {
	resp, err := get(m, m.responses, height, "FinalizeBlock response")
	return append([]byte(nil), resp...), err
}

// HasTx reports whether a stored block holds a tx with this SHA-256 hash
// (the mempool's Committed port).
func (m *MemStore) HasTx(hash [32]byte) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.txs[hash]
}

// LoadState returns the last saved state.
func (m *MemStore) LoadState() (*blockstore.State, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.state == nil {
		return nil, fmt.Errorf("%w: state", blockstore.ErrNotFound)
	}
	return copyState(m.state), nil
}

// SaveState saves st and the validator sets it holds.
func (m *MemStore) SaveState(st *blockstore.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saveState(st)
	return nil
}

// SaveDecided saves block, its seen commit (with its vote extensions when
// ext is not nil), its FinalizeBlock response and the state after it. The
// block must follow the highest stored one.
func (m *MemStore) SaveDecided(block *types.Block, id types.BlockID, seen *types.Commit, ext *types.ExtendedCommit, finalizeResp []byte, st *blockstore.State) error {
	h := block.Header.Height
	switch {
	case id.Hash != block.Hash():
		return fmt.Errorf("%w: block ID %v is not that of the block at height %d", blockstore.ErrInvalidArgument, id, h)
	case seen == nil || seen.Height != h || seen.BlockID != id:
		return fmt.Errorf("%w: seen commit is not for the block at height %d", blockstore.ErrInvalidArgument, h)
	case ext != nil && (ext.Commit == nil || len(ext.Extensions) != len(ext.Commit.Signatures)):
		return fmt.Errorf("%w: extended commit without one extension entry per signature", blockstore.ErrInvalidArgument)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.height != 0 && h != m.height+1 {
		return fmt.Errorf("%w: block at height %d after height %d", blockstore.ErrNonContiguous, h, m.height)
	}
	if m.base == 0 {
		m.base = h
	}
	m.height = h
	m.blocks[h], m.seen[h] = block, seen
	if ext != nil {
		m.extended[h] = ext
	}
	for _, tx := range block.Data.Txs {
		m.txs[sha256.Sum256(tx)] = true
	}
	m.responses[h] = append([]byte(nil), finalizeResp...)
	m.saveState(st)
	return nil
}

// SaveExecuted saves the FinalizeBlock response of stored block height and
// the state after it.
func (m *MemStore) SaveExecuted(height int64, finalizeResp []byte, st *blockstore.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.responses[height] = append([]byte(nil), finalizeResp...)
	m.saveState(st)
	return nil
}

// saveState keeps a copy of st and its validator sets by the heights they
// validate. The caller holds mu.
func (m *MemStore) saveState(st *blockstore.State) {
	m.state = copyState(st)
	for h, vs := range map[int64]*types.ValidatorSet{
		st.LastBlockHeight:     st.LastValidators,
		st.LastBlockHeight + 1: st.Validators,
		st.LastBlockHeight + 2: st.NextValidators,
	} {
		if h > 0 && vs != nil && vs.Size() > 0 {
			m.validators[h] = vs.Copy()
		}
	}
}

// copyState copies st deeply enough that neither side's changes reach the
// other: the validator sets (whose priorities change) and the app hash.
func copyState(st *blockstore.State) *blockstore.State {
	cp := *st
	cp.Validators, cp.NextValidators, cp.LastValidators = copyVals(st.Validators), copyVals(st.NextValidators), copyVals(st.LastValidators)
	cp.AppHash = append([]byte(nil), st.AppHash...)
	return &cp
}

func copyVals(vs *types.ValidatorSet) *types.ValidatorSet {
	if vs == nil {
		return nil
	}
	return vs.Copy()
}

// get reads height's value from one of m's maps.
func get[V any](m *MemStore, values map[int64]V, height int64, what string) (V, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := values[height]
	if !ok {
		var zero V
		return zero, fmt.Errorf("%w: %s at height %d", blockstore.ErrNotFound, what, height)
	}
	return v, nil
}
