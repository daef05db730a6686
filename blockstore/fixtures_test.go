package blockstore

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/types"
)

// backend is where a test store lives: Pebble's in-memory filesystem or a
// temporary directory on disk.
type backend struct {
	name string
	dir  string
	opts Options
}

func backends(t *testing.T) []backend {
	t.Helper()
	return []backend{
		{name: "memfs", dir: "db", opts: Options{FS: vfs.NewMem()}},
		{name: "disk", dir: t.TempDir(), opts: Options{}},
	}
}

// forEachBackend runs f as a subtest on a fresh backend of each kind.
func forEachBackend(t *testing.T, f func(t *testing.T, be backend)) {
	t.Helper()
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { f(t, be) })
	}
}

// open opens the store of be and closes it when the test ends.
func (be backend) open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(be.dir, be.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// chain generates a valid-looking chain of blocks with their IDs and seen
// commits. Signatures are filler: the store does not check them.
type chain struct {
	t      testing.TB
	vals   *types.ValidatorSet
	txs    int // per block
	txSize int
	height int64
	lastID types.BlockID
	last   *types.Commit // the canonical commit of the last block
	// header, if set, adjusts each new block's header before it is hashed.
	header func(*types.Header)
}

func newChain(t testing.TB, txs, txSize int) *chain {
	t.Helper()
	vals := make([]*types.Validator, 4)
	for i := range vals {
		seed := sha256.Sum256([]byte{byte(i)})
		vals[i] = types.NewValidator(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), int64(i+1))
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return &chain{t: t, vals: vs, txs: txs, txSize: max(txSize, 12)}
}

// commit builds a commit for id at height. The canonical commit leaves the
// last validator absent; the seen commit has all of them, so the two differ.
func (c *chain) commit(height int64, id types.BlockID, canonical bool) *types.Commit {
	cm := &types.Commit{Height: height, BlockID: id}
	for i, v := range c.vals.Validators {
		sig := types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: v.Address,
			Timestamp: blockTime(height).Add(time.Duration(i) * time.Millisecond), Signature: bytes.Repeat([]byte{byte(i + 1)}, 64)}
		if canonical && i == len(c.vals.Validators)-1 {
			sig = types.CommitSig{Flag: types.BlockIDFlagAbsent}
		}
		cm.Signatures = append(cm.Signatures, sig)
	}
	return cm
}

func blockTime(height int64) time.Time { return time.Unix(1_700_000_000+height, 0).UTC() }

// tx returns the i-th tx of the block at height: unique, txSize bytes.
func (c *chain) tx(height int64, i int) []byte {
	tx := make([]byte, c.txSize)
	binary.BigEndian.PutUint64(tx, uint64(height))
	binary.BigEndian.PutUint32(tx[8:], uint32(i))
	return tx
}

// next returns the next block, its ID and its seen commit.
func (c *chain) next() (*types.Block, types.BlockID, *types.Commit) {
	c.t.Helper()
	c.height++
	b := &types.Block{Header: types.Header{
		Version:            types.Version{Block: types.BlockProtocol},
		ChainID:            "store-test",
		Height:             c.height,
		Time:               blockTime(c.height),
		LastBlockID:        c.lastID,
		ValidatorsHash:     c.vals.Hash(),
		NextValidatorsHash: c.vals.Hash(),
		AppHash:            []byte("app"),
		ProposerAddress:    c.vals.Proposer().Address,
	}}
	if c.header != nil {
		c.header(&b.Header)
	}
	for i := range c.txs {
		b.Data.Txs = append(b.Data.Txs, c.tx(c.height, i))
	}
	b.LastCommit = c.last
	b.FillHeader()
	id, err := types.MakeBlockID(b)
	if err != nil {
		c.t.Fatal(err)
	}
	c.lastID, c.last = id, c.commit(c.height, id, true)
	return b, id, c.commit(c.height, id, false)
}

// saved is a block as saved, to compare loads against.
type saved struct {
	block *types.Block
	id    types.BlockID
	seen  *types.Commit
}

// saveBlocks saves n more blocks of c, one batch each.
func saveBlocks(t testing.TB, s *Store, c *chain, n int) []saved {
	t.Helper()
	out := make([]saved, n)
	for i := range out {
		b, id, seen := c.next()
		if err := s.SaveBlock(b, id, seen); err != nil {
			t.Fatal(err)
		}
		out[i] = saved{b, id, seen}
	}
	return out
}
