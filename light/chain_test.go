package light

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/types"
)

// An in-memory chain of signed light blocks, built for tests with the
// real types functions (header hash, vote sign bytes).

const testChainID = "light-test"

var genesisTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// key returns the deterministic Ed25519 key number i.
func key(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint32([]byte("light-test-key"), uint32(i)))
	return ed25519.NewKeyFromSeed(seed[:])
}

// valSet builds a set of the given keys, each with power 10.
func valSet(t testing.TB, keys ...int) *types.ValidatorSet {
	t.Helper()
	var vals []*types.Validator
	for _, k := range keys {
		vals = append(vals, types.NewValidator(key(k).Public().(ed25519.PublicKey), 10))
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// chain is a generated chain: blocks[h] is the light block at height h.
type chain struct {
	chainID string
	blocks  map[int64]*LightBlock
	keys    map[types.Address]ed25519.PrivateKey
}

// schedule gives the validator keys of each height.
type schedule func(height int64) []int

// threeEras: keys 0-3 up to height 10, keys 2-5 up to 20, keys 6-9 after.
func threeEras(h int64) []int {
	switch {
	case h <= 10:
		return []int{0, 1, 2, 3}
	case h <= 20:
		return []int{2, 3, 4, 5}
	}
	return []int{6, 7, 8, 9}
}

// genChain builds heights 1..n; appHash varies a header's app hash, so two
// chains with different appHash functions fork where they differ.
func genChain(t testing.TB, chainID string, n int64, sched schedule, appHash func(int64) []byte) *chain {
	t.Helper()
	c := &chain{chainID: chainID, blocks: map[int64]*LightBlock{}, keys: map[types.Address]ed25519.PrivateKey{}}
	var last types.BlockID
	for h := int64(1); h <= n; h++ {
		vals, next := valSet(t, sched(h)...), valSet(t, sched(h+1)...)
		for _, k := range sched(h) {
			c.keys[types.AddressOf(key(k).Public().(ed25519.PublicKey))] = key(k)
		}
		blk := &types.Block{Header: types.Header{
			Version: types.Version{Block: types.BlockProtocol},
			ChainID: chainID, Height: h, Time: genesisTime.Add(time.Duration(h) * time.Second),
			LastBlockID: last, ValidatorsHash: vals.Hash(), NextValidatorsHash: next.Hash(),
			AppHash: appHash(h), ProposerAddress: vals.Proposer().Address,
		}, Data: types.Data{Txs: txsAt(h)}}
		if h > 1 {
			blk.LastCommit = c.blocks[h-1].Commit
		}
		blk.FillHeader()
		hdr := &blk.Header
		id := types.BlockID{Hash: hdr.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256(appHash(h))}}
		lb := &LightBlock{Header: hdr, ValidatorSet: vals, Commit: &types.Commit{Height: h, BlockID: id}}
		for i := range vals.Validators {
			lb.Commit.Signatures = append(lb.Commit.Signatures, c.sign(t, lb, i, types.BlockIDFlagCommit))
		}
		c.blocks[h] = lb
		last = id
	}
	return c
}

func sameAppHash(int64) []byte { return []byte("app") }

// forkAfter10 is a fork of the threeEras chain of sameAppHash: the same
// validators sign other headers (another app hash) from height 11 on.
func forkAfter10(t testing.TB) *chain {
	t.Helper()
	return genChain(t, testChainID, 30, threeEras, func(h int64) []byte {
		if h > 10 {
			return []byte("fork")
		}
		return sameAppHash(h)
	})
}

// txsAt are the transactions of the block at height h.
func txsAt(h int64) [][]byte { return [][]byte{fmt.Appendf(nil, "tx-%d", h)} }

// sign returns the commit signature of lb's validator at index i.
func (c *chain) sign(t testing.TB, lb *LightBlock, i int, flag types.BlockIDFlag) types.CommitSig {
	t.Helper()
	val := lb.ValidatorSet.Validators[i]
	sig := types.CommitSig{Flag: flag, ValidatorAddress: val.Address, Timestamp: lb.Header.Time.Add(time.Millisecond)}
	tmp := &types.Commit{Height: lb.Commit.Height, Round: lb.Commit.Round, BlockID: lb.Commit.BlockID, Signatures: make([]types.CommitSig, i+1)}
	tmp.Signatures[i] = sig
	sig.Signature = ed25519.Sign(c.keys[val.Address], types.VoteSignBytes(c.chainID, tmp.VoteAt(i)))
	return sig
}

// clone returns a copy of the light block at h whose header and commit can
// be changed without touching the chain.
func (c *chain) clone(h int64) *LightBlock {
	lb := c.blocks[h]
	hdr, com := *lb.Header, *lb.Commit
	com.Signatures = append([]types.CommitSig(nil), lb.Commit.Signatures...)
	return &LightBlock{Header: &hdr, Commit: &com, ValidatorSet: lb.ValidatorSet}
}

// memProvider serves a chain, counting fetches; height 0 is its latest.
type memProvider struct {
	id      string
	c       *chain
	latest  int64
	fetches []int64
	replace map[int64]*LightBlock
	// reported is the evidence given to ReportEvidence, which refuses the
	// first refuseReports calls.
	reported      []types.Evidence
	refuseReports int
}

func (p *memProvider) ReportEvidence(_ context.Context, ev types.Evidence) error {
	if p.refuseReports > 0 {
		p.refuseReports--
		return errors.New("evidence refused")
	}
	p.reported = append(p.reported, ev)
	return nil
}

func newProvider(id string, c *chain, latest int64) *memProvider {
	return &memProvider{id: id, c: c, latest: latest, replace: map[int64]*LightBlock{}}
}

func (p *memProvider) ID() string { return p.id }

func (p *memProvider) LightBlock(_ context.Context, h int64) (*LightBlock, error) {
	if h == 0 {
		h = p.latest
	}
	p.fetches = append(p.fetches, h)
	if lb, ok := p.replace[h]; ok {
		return lb, nil
	}
	lb, ok := p.c.blocks[h]
	if !ok || h > p.latest {
		return nil, fmt.Errorf("%w: height %d", ErrLightBlockNotFound, h)
	}
	return lb, nil
}

func memStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore("light", vfs.NewMem(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// at is a clock stopped at the time of height h plus d.
func at(h int64, d time.Duration) func() time.Time {
	return func() time.Time { return genesisTime.Add(time.Duration(h)*time.Second + d) }
}

var testOpts = VerifyOptions{TrustingPeriod: time.Hour, TrustLevel: DefaultTrustLevel, MaxClockDrift: 10 * time.Second}

// newTestClient starts a client trusting height 1 of primary's chain.
func newTestClient(t *testing.T, primary Provider, witnesses []Provider, sequential bool, evidenceDir string) (*Client, *Store) {
	t.Helper()
	store := memStore(t)
	first, err := primary.LightBlock(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(context.Background(), testChainID, TrustOptions{Height: 1, Hash: first.Hash()}, primary, witnesses, store,
		ClientOptions{VerifyOptions: testOpts, Sequential: sequential, EvidenceDir: evidenceDir, Now: at(40, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

func hexOf(b []byte) string { return fmt.Sprintf("%X", b) }
