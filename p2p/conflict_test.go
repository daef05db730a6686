package p2p

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// signedCommit is the commit of round 0 for b, signed by the validators of
// fv at the given indexes (the others absent).
func (fv *fakeValidators) signedCommit(t *testing.T, b *types.Block, signers ...int) *types.Commit {
	t.Helper()
	id, err := types.MakeBlockID(b)
	if err != nil {
		t.Fatal(err)
	}
	c := &types.Commit{Height: b.Header.Height, BlockID: id, Signatures: make([]types.CommitSig, fv.set.Size())}
	for i := range c.Signatures {
		c.Signatures[i].Flag = types.BlockIDFlagAbsent
	}
	for _, i := range signers {
		v := fv.set.Validators[i]
		c.Signatures[i] = types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: b.Header.Time.Add(time.Second)}
		c.Signatures[i].Signature = ed25519.Sign(fv.keys[v.Address], types.VoteSignBytes(testChain, c.VoteAt(i)))
	}
	return c
}

// signedChain is a chain of n blocks of fv's validators, each committed by
// all of them, as a node that decided them stores it.
func signedChain(t *testing.T, fv *fakeValidators, n int64) *fakeSource {
	t.Helper()
	fs := &fakeSource{}
	var lastID types.BlockID
	var last *types.Commit
	for h := int64(1); h <= n; h++ {
		b := chainBlock(fv, h, []byte("app"), "tx", lastID, last)
		last = fv.signedCommit(t, b, 0, 1, 2, 3)
		lastID = last.BlockID
		fs.blocks = append(fs.blocks, b)
		fs.commits = append(fs.commits, last)
	}
	return fs
}

func chainBlock(fv *fakeValidators, h int64, appHash []byte, tx string, lastID types.BlockID, last *types.Commit) *types.Block {
	b := makeBlock(h, [][]byte{[]byte(tx)}, lastID, last)
	b.Header.ValidatorsHash, b.Header.NextValidatorsHash = fv.set.Hash(), fv.set.Hash()
	b.Header.AppHash, b.Header.ProposerAddress = appHash, fv.set.Proposer().Address
	return b
}

// forgedAt is a block at h that differs from src's in its tx and app hash,
// after src's block h-1, signed by fv's validators at signers.
func forgedAt(t *testing.T, fv *fakeValidators, src *fakeSource, h int64, appHash []byte, signers ...int) msgs.CommitMsg {
	t.Helper()
	ours := src.blocks[h-1]
	b := chainBlock(fv, h, appHash, "other tx", ours.Header.LastBlockID, ours.LastCommit)
	return msgs.CommitMsg{Block: b, Commit: fv.signedCommit(t, b, signers...)}
}

func TestConflictEvidence(t *testing.T) {
	fv := newFakeValidators(t, 4)
	src := signedChain(t, fv, 5)
	signedAt := func(h int64) *types.SignedHeader {
		return &types.SignedHeader{Header: &src.blocks[h-1].Header, Commit: src.blocks[h].LastCommit}
	}
	addr := func(i int) types.Address { return fv.set.Validators[i].Address }

	if ev, err := conflictEvidence(src, fv, msgs.CommitMsg{Block: src.blocks[2], Commit: src.commits[2]}); ev != nil || err != nil {
		t.Fatalf("the node's own block: %v, %v; want nothing", ev, err)
	}
	for _, tc := range []struct {
		name    string
		m       msgs.CommitMsg
		common  int64
		signers []int
	}{
		// Validators 0, 1 and 2 sign another block at height 3.
		{"equivocation", forgedAt(t, fv, src, 3, []byte("app"), 0, 1, 2), 3, []int{0, 1, 2}},
		// Validators 1, 2 and 3 sign, after the same block 2, a block at
		// 3 with another app hash: judged from height 2, whose set they
		// are in.
		{"lunatic", forgedAt(t, fv, src, 3, []byte("lunatic"), 1, 2, 3), 2, []int{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := conflictEvidence(src, fv, tc.m)
			if err != nil || ev == nil {
				t.Fatalf("conflicting block: %v, %v; want evidence", ev, err)
			}
			if ev.ConflictingBlock.Header.Hash() != tc.m.Block.Hash() || ev.CommonHeight != tc.common || !ev.Timestamp.Equal(src.blocks[tc.common-1].Header.Time) {
				t.Fatalf("evidence %v at common height %d (%s), want the peer's block over height %d", ev, ev.CommonHeight, ev.Timestamp, tc.common)
			}
			if len(ev.ByzantineValidators) != len(tc.signers) {
				t.Fatalf("%d byzantine validators, want %d", len(ev.ByzantineValidators), len(tc.signers))
			}
			for _, i := range tc.signers {
				if _, v := fv.set.ByAddress(addr(i)); v == nil || !containsAddr(ev.ByzantineValidators, addr(i)) {
					t.Errorf("validator %d signed the conflicting block but is not accused", i)
				}
			}
			if err := ev.Verify(testChain, signedAt(ev.CommonHeight), signedAt(3), fv.set); err != nil {
				t.Errorf("the chain's judgement of the evidence: %v", err)
			}
		})
	}

	other := forgedAt(t, fv, src, 3, []byte("app"), 0, 1, 2)
	other.Block.Header.ValidatorsHash = types.Hash{1}
	latest := forgedAt(t, fv, src, 5, []byte("app"), 0, 1, 2)
	for name, m := range map[string]msgs.CommitMsg{"another validator set": other, "the latest height": latest} {
		if ev, err := conflictEvidence(src, fv, m); ev != nil || !errors.Is(err, errCannotJudge) {
			t.Errorf("%s: %v, %v; want no evidence and why", name, ev, err)
		}
	}
}

// TestCheckDecidedAddsEvidence: a conflicting block met in block sync
// reaches the pool as evidence; one whose evidence the pool finds forged
// costs the peer that served it.
func TestCheckDecidedAddsEvidence(t *testing.T) {
	fv := newFakeValidators(t, 4)
	src := signedChain(t, fv, 5)
	pool := newFakeEvidencePool()
	tr := buildTestNode(t, func(c *Config) { c.Source, c.Validators, c.EvidenceSource = src, fv, pool })
	t.Cleanup(func() { _ = tr.Close() })
	p := mustDecode(t, "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	m := forgedAt(t, fv, src, 3, []byte("app"), 0, 1, 2)
	ev, err := conflictEvidence(src, fv, m)
	if err != nil {
		t.Fatal(err)
	}
	tr.checkDecided(p, m)
	if !pool.holds(ev.Hash()) {
		t.Fatal("the evidence of the conflicting block did not reach the pool")
	}
	forged := forgedAt(t, fv, src, 2, []byte("app"), 0, 1, 2)
	fev, err := conflictEvidence(src, fv, forged)
	if err != nil {
		t.Fatal(err)
	}
	pool.forged[fev.Hash()] = true
	tr.checkDecided(p, forged)
	if got, _ := tr.scores.add(p, 0, tr.cfg.BanThreshold, tr.gater.now()); got != penaltyInvalid {
		t.Errorf("peer score %d after serving a forged conflicting block, want %d", got, penaltyInvalid)
	}
}

func containsAddr(vals []*types.Validator, a types.Address) bool {
	for _, v := range vals {
		if v.Address == a {
			return true
		}
	}
	return false
}
