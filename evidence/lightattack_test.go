package evidence

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// lightBlock is fakeChain's block at h: a real header (linked to the one
// below by its block ID) and a commit of round 0 signed by all four
// validators with their keys.
func (c *fakeChain) lightBlock(h int64) *types.LightBlock {
	if lb, ok := c.blocks[h]; ok {
		return lb
	}
	hdr := &types.Header{Version: types.Version{Block: types.BlockProtocol}, ChainID: chainID, Height: h, Time: blockTime(h),
		ValidatorsHash: c.vals.Hash(), NextValidatorsHash: c.vals.Hash(), ConsensusHash: sha256.Sum256([]byte("params")),
		AppHash: []byte("app"), ProposerAddress: c.vals.Proposer().Address}
	if h > 1 {
		hdr.LastBlockID = c.lightBlock(h - 1).Commit.BlockID
	}
	lb := &types.LightBlock{SignedHeader: types.SignedHeader{Header: hdr}, ValidatorSet: c.vals}
	lb.Commit = signCommit(hdr, c.vals, 0, 0, 1, 2, 3)
	if c.blocks == nil {
		c.blocks = map[int64]*types.LightBlock{}
	}
	c.blocks[h] = lb
	return lb
}

// signCommit is a commit of round for hdr in vals' order, signed by the
// validators of the given keys (the others absent).
func signCommit(hdr *types.Header, vals *types.ValidatorSet, round int32, keys ...int) *types.Commit {
	id := types.BlockID{Hash: hdr.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256(hdr.AppHash)}}
	c := &types.Commit{Height: hdr.Height, Round: round, BlockID: id, Signatures: make([]types.CommitSig, vals.Size())}
	for i := range c.Signatures {
		c.Signatures[i].Flag = types.BlockIDFlagAbsent
	}
	for _, k := range keys {
		i, v := vals.ByAddress(addr(k))
		if v == nil {
			continue
		}
		c.Signatures[i] = types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: hdr.Time.Add(time.Second)}
		c.Signatures[i].Signature = ed25519.Sign(privKey(k), types.VoteSignBytes(chainID, c.VoteAt(int(i))))
	}
	return c
}

func addr(k int) types.Address { return types.AddressOf(privKey(k).Public().(ed25519.PublicKey)) }

// setOf is a validator set of the given keys with fakeChain's powers.
func setOf(t *testing.T, keys ...int) *types.ValidatorSet {
	t.Helper()
	var vals []*types.Validator
	for _, k := range keys {
		vals = append(vals, types.NewValidator(privKey(k).Public().(ed25519.PublicKey), int64(10*(k+1))))
	}
	set, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// forged is a block at height h that conflicts with c's: c's header with
// change applied and vals as its validators, signed in round by keys.
func forged(t *testing.T, c *fakeChain, h int64, vals *types.ValidatorSet, round int32, change func(*types.Header), keys ...int) *types.LightBlock {
	t.Helper()
	hdr := *c.lightBlock(h).Header
	hdr.ValidatorsHash = vals.Hash()
	change(&hdr)
	return &types.LightBlock{SignedHeader: types.SignedHeader{Header: &hdr, Commit: signCommit(&hdr, vals, round, keys...)}, ValidatorSet: vals}
}

// lunatic: validators 2 and 3 (70 of 100) sign, at height 12, a block
// with another app hash and a set of only themselves; the chain agreed
// with it up to height 10.
func lunatic(t *testing.T, c *fakeChain) *types.LightClientAttackEvidence {
	t.Helper()
	lb := forged(t, c, 12, setOf(t, 2, 3), 0, func(h *types.Header) { h.AppHash = []byte("lunatic") }, 2, 3)
	return types.NewLightClientAttackEvidence(lb, c.lightBlock(12), c.lightBlock(10))
}

// equivocation: validators 1, 2 and 3 sign in round of height 15 a second
// block, which differs from the chain's only in its transactions.
func equivocation(t *testing.T, c *fakeChain, round int32) *types.LightClientAttackEvidence {
	t.Helper()
	lb := forged(t, c, 15, c.vals, round, func(h *types.Header) { h.DataHash = sha256.Sum256([]byte("other txs")) }, 1, 2, 3)
	return types.NewLightClientAttackEvidence(lb, c.lightBlock(15), c.lightBlock(15))
}

func addresses(vals []*types.Validator) []types.Address {
	var out []types.Address
	for _, v := range vals {
		out = append(out, v.Address)
	}
	return out
}

func TestLightClientAttacksAccepted(t *testing.T) {
	cases := []struct {
		name     string
		ev       func(t *testing.T, c *fakeChain) *types.LightClientAttackEvidence
		common   int64
		byzKeys  []int // by power, highest first
		hasPower int64
	}{
		{"lunatic", lunatic, 10, []int{3, 2}, 70},
		{"equivocation", func(t *testing.T, c *fakeChain) *types.LightClientAttackEvidence { return equivocation(t, c, 0) }, 15, []int{3, 2, 1}, 90},
		// Commits of different rounds: no one provably signed twice.
		{"amnesia", func(t *testing.T, c *fakeChain) *types.LightClientAttackEvidence { return equivocation(t, c, 1) }, 15, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newPool(t)
			ev := tc.ev(t, c)
			if ev.CommonHeight != tc.common || !ev.Timestamp.Equal(blockTime(tc.common)) || ev.TotalVotingPower != 100 {
				t.Fatalf("evidence at common height %d, time %s, total power %d; want %d, %s, 100",
					ev.CommonHeight, ev.Timestamp, ev.TotalVotingPower, tc.common, blockTime(tc.common))
			}
			var want []types.Address
			for _, k := range tc.byzKeys {
				want = append(want, addr(k))
			}
			if got := addresses(ev.ByzantineValidators); !slices.Equal(got, want) {
				t.Fatalf("byzantine validators %X, want %X", got, want)
			}
			if err := p.Add(ev); err != nil {
				t.Fatalf("valid %s attack refused: %v", tc.name, err)
			}
			if got := p.Pending(-1); len(got) != 1 || got[0].Hash() != ev.Hash() {
				t.Fatalf("pending %v, want the attack", got)
			}
			mb := ev.ABCI()
			var power int64
			for i, m := range mb {
				if m.Type != types.MisbehaviorLightClientAttack || m.ValidatorAddress != want[i] || m.Height != tc.common || m.TotalVotingPower != 100 {
					t.Errorf("misbehavior %d: %+v", i, m)
				}
				power += m.ValidatorPower
			}
			if len(mb) != len(want) || power != tc.hasPower {
				t.Errorf("%d misbehaviors with %d power, want %d with %d", len(mb), power, len(want), tc.hasPower)
			}
			if err := p.MarkCommitted(21, types.EvidenceList{ev}); err != nil {
				t.Fatal(err)
			}
			if err := p.Add(ev); !errors.Is(err, ErrCommitted) {
				t.Errorf("committed attack added again: %v", err)
			}
		})
	}
}

func TestLightClientAttackRefusals(t *testing.T) {
	// lunaticWith is the lunatic attack, changed by f (which may also
	// change the chain).
	lunaticWith := func(f func(ev *types.LightClientAttackEvidence, c *fakeChain)) func(t *testing.T, c *fakeChain) types.Evidence {
		return func(t *testing.T, c *fakeChain) types.Evidence {
			ev := lunatic(t, c)
			f(ev, c)
			return ev
		}
	}
	checkRefusals(t, []refusal{
		{"bad commit signature", lunaticWith(func(ev *types.LightClientAttackEvidence, c *fakeChain) {
			ev.ConflictingBlock.Commit.Signatures[1].Signature = ed25519.Sign(privKey(2), []byte("something else"))
		}), types.ErrBadSignature, "bad_signature", "slot 1"},
		{"too little power of the common set", func(t *testing.T, c *fakeChain) types.Evidence {
			// Validator 0 alone: all of its own set, 10 of the chain's 100.
			lb := forged(t, c, 12, setOf(t, 0), 0, func(h *types.Header) { h.AppHash = []byte("lunatic") }, 0)
			return types.NewLightClientAttackEvidence(lb, c.lightBlock(12), c.lightBlock(10))
		}, ErrInvalid, "invalid", "more than 1/3"},
		{"too little power of its own set", func(t *testing.T, c *fakeChain) types.Evidence {
			// 60 of 100.
			lb := forged(t, c, 15, c.vals, 0, func(h *types.Header) { h.DataHash = sha256.Sum256([]byte("other")) }, 1, 3)
			return types.NewLightClientAttackEvidence(lb, c.lightBlock(15), c.lightBlock(15))
		}, ErrInvalid, "invalid", "more than 2/3"},
		{"wrong byzantine list", func(t *testing.T, c *fakeChain) types.Evidence {
			ev := equivocation(t, c, 0)
			ev.ByzantineValidators = ev.ByzantineValidators[:2]
			return ev
		}, ErrInvalid, "invalid", "2 accused (byzantine_validators), the attack makes 3"},
		{"innocent accused", lunaticWith(func(ev *types.LightClientAttackEvidence, c *fakeChain) {
			_, v := c.vals.ByAddress(addr(0))
			ev.ByzantineValidators[1] = v
		}), ErrInvalid, "invalid", "accused validator 1"},
		{"wrong total power", lunaticWith(func(ev *types.LightClientAttackEvidence, c *fakeChain) {
			ev.TotalVotingPower = 99
		}), ErrInvalid, "invalid", "total voting power 99"},
		{"expired", lunaticWith(func(ev *types.LightClientAttackEvidence, c *fakeChain) {
			c.advance(100) // 90 blocks and 90 minutes after the common height
		}), ErrExpired, "expired", "max age"},
		{"conflicting header identical to the chain's", func(t *testing.T, c *fakeChain) types.Evidence {
			own := c.lightBlock(15)
			return types.NewLightClientAttackEvidence(own, own, own)
		}, ErrInvalid, "invalid", "chain's own"},
		{"lunatic block at the common height", lunaticWith(func(ev *types.LightClientAttackEvidence, c *fakeChain) {
			ev.CommonHeight, ev.Timestamp = 12, blockTime(12)
		}), ErrInvalid, "invalid", "earlier common height"},
		{"unknown common height (pruned)", lunaticWith(func(ev *types.LightClientAttackEvidence, c *fakeChain) {
			c.base = 11
		}), ErrNoState, "no_state", "no block at 10"},
		{"common height above the chain", func(t *testing.T, c *fakeChain) types.Evidence {
			lb := forged(t, c, 20, setOf(t, 2, 3), 0, func(h *types.Header) { h.AppHash = []byte("lunatic") }, 2, 3)
			ev := types.NewLightClientAttackEvidence(lb, c.lightBlock(20), c.lightBlock(20))
			lb.Header.Height, ev.CommonHeight = 25, 25
			lb.Commit = signCommit(lb.Header, lb.ValidatorSet, 0, 2, 3)
			return ev
		}, ErrFutureHeight, "future_height", "last block 20"},
		{"latest block, whose commit is not in a block yet", func(t *testing.T, c *fakeChain) types.Evidence {
			lb := forged(t, c, 20, c.vals, 0, func(h *types.Header) { h.DataHash = sha256.Sum256([]byte("other")) }, 1, 2, 3)
			return types.NewLightClientAttackEvidence(lb, c.lightBlock(20), c.lightBlock(20))
		}, ErrNoState, "no_state", "retry once it is committed"},
	})
}

// A block's light client attack is verified even when an attack with its
// hash is pending: the hash leaves out the commit, which may be forged.
func TestBlockLightClientAttackVerifiedDespiteSameHash(t *testing.T) {
	p, c := newPool(t)
	ev := lunatic(t, c)
	if err := p.Add(ev); err != nil {
		t.Fatal(err)
	}
	other := *ev
	lb := *ev.ConflictingBlock
	com := *lb.Commit
	com.Signatures = append([]types.CommitSig(nil), com.Signatures...)
	com.Signatures[0].Signature = ed25519.Sign(privKey(3), []byte("forged"))
	lb.Commit = &com
	other.ConflictingBlock = &lb
	if other.Hash() != ev.Hash() {
		t.Fatal("the forged form should hash as the pending one")
	}
	if err := p.CheckBlockEvidence(types.EvidenceList{&other}); !errors.Is(err, types.ErrBadSignature) {
		t.Fatalf("block with a forged form of a pending attack: %v, want a bad signature", err)
	}
	if err := p.CheckBlockEvidence(types.EvidenceList{ev}); err != nil {
		t.Fatalf("block with the pending attack: %v", err)
	}
}
