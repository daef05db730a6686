package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/types"
)

const chainID = "pool-chain"

var genesis = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func privKey(i int) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32))
}

// fakeChain has blocks 1..State.Height, block h at genesis + h minutes,
// all signed by the validators of keys 0..3 (powers 10, 20, 30, 40); the
// headers and commits are real (lightattack_test.go).
type fakeChain struct {
	st     State
	vals   *types.ValidatorSet
	base   int64                       // the lowest height kept (0: all)
	blocks map[int64]*types.LightBlock // see lightBlock
}

func newChain(t *testing.T) *fakeChain {
	var vals []*types.Validator
	for i := range 4 {
		vals = append(vals, types.NewValidator(privKey(i).Public().(ed25519.PublicKey), int64(10*(i+1))))
	}
	set, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeChain{vals: set, st: State{ChainID: chainID, Params: Params{MaxAgeNumBlocks: 10, MaxAgeDuration: time.Hour, MaxBytes: 4096}}}
	c.advance(20)
	return c
}

func blockTime(h int64) time.Time { return genesis.Add(time.Duration(h) * time.Minute) }

// advance sets the last block to height h.
func (c *fakeChain) advance(h int64) { c.st.Height, c.st.Time = h, blockTime(h) }

func (c *fakeChain) State() State { return c.st }

func (c *fakeChain) ValidatorsAt(h int64) (*types.ValidatorSet, error) {
	if h < 1 || h > c.st.Height {
		return nil, fmt.Errorf("no validators at %d", h)
	}
	return c.vals, nil
}

func (c *fakeChain) HeaderAt(h int64) (*types.Header, error) {
	if h < max(c.base, 1) || h > c.st.Height {
		return nil, fmt.Errorf("no block at %d", h)
	}
	return c.lightBlock(h).Header, nil
}

func (c *fakeChain) CommitAt(h int64) (*types.Commit, error) {
	if h < max(c.base, 1) || h >= c.st.Height {
		return nil, fmt.Errorf("no canonical commit for %d", h)
	}
	return c.lightBlock(h).Commit, nil
}

func blockID(s string) types.BlockID {
	return types.BlockID{Hash: sha256.Sum256([]byte(s)), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte("parts " + s))}}
}

func vote(k ed25519.PrivateKey, height int64, round int32, id types.BlockID) *types.Vote {
	v := &types.Vote{Type: types.PrevoteType, Height: height, Round: round, BlockID: id, Timestamp: blockTime(height).Add(time.Second),
		ValidatorAddress: types.AddressOf(k.Public().(ed25519.PublicKey))}
	v.Signature = ed25519.Sign(k, types.VoteSignBytes(chainID, v))
	return v
}

// duplicate is validator i's equivocation at (height, round), with the
// powers of c's set and the block's time.
func duplicate(t *testing.T, c *fakeChain, i int, height int64, round int32) *types.DuplicateVoteEvidence {
	t.Helper()
	ev, err := types.NewDuplicateVoteEvidence(vote(privKey(i), height, round, blockID("a")), vote(privKey(i), height, round, blockID("b")), blockTime(height), c.vals)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func openPool(t *testing.T, c Chain, fs vfs.FS) *Pool {
	t.Helper()
	p, err := Open("evidence", c, Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newPool(t *testing.T) (*Pool, *fakeChain) {
	c := newChain(t)
	p := openPool(t, c, vfs.NewMem())
	t.Cleanup(func() { _ = p.Close() })
	return p, c
}

func hashes(l types.EvidenceList) []types.Hash {
	var out []types.Hash
	for _, ev := range l {
		out = append(out, ev.Hash())
	}
	return out
}

func TestAddKeepsVerifiedEvidenceOnce(t *testing.T) {
	p, c := newPool(t)
	late, early := duplicate(t, c, 1, 15, 0), duplicate(t, c, 0, 12, 2)
	for _, ev := range []types.Evidence{late, early, late} {
		if err := p.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	got := hashes(p.Pending(-1))
	if want := []types.Hash{early.Hash(), late.Hash()}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pending %X, want the earlier height first %X", got, want)
	}
	if m := p.Metrics(); m.Pending != 2 || m.PendingBytes != int64(len(types.EncodeEvidence(late))+len(types.EncodeEvidence(early))) {
		t.Errorf("metrics %+v", m)
	}
	size := int64(len(types.EncodeEvidence(early)))
	if got := hashes(p.Pending(size)); len(got) != 1 || got[0] != early.Hash() {
		t.Errorf("pending within %d bytes: %X", size, got)
	}
	if got := p.Pending(size - 1); len(got) != 0 {
		t.Errorf("pending within %d bytes: %d evidence", size-1, len(got))
	}
}

func TestAddRefusals(t *testing.T) {
	outsider := func(t *testing.T, c *fakeChain) types.Evidence {
		ev := duplicate(t, c, 0, 15, 0)
		a, b := vote(privKey(9), 15, 0, ev.VoteA.BlockID), vote(privKey(9), 15, 0, ev.VoteB.BlockID)
		ev.VoteA, ev.VoteB = a, b
		return ev
	}
	checkRefusals(t, []refusal{
		{"bad signature", func(t *testing.T, c *fakeChain) types.Evidence {
			ev := duplicate(t, c, 2, 15, 0)
			ev.VoteB.Signature = ed25519.Sign(privKey(2), []byte("something else"))
			return ev
		}, types.ErrBadSignature, "bad_signature", "vote B"},
		{"unknown validator", outsider, types.ErrUnknownValidator, "unknown_validator", "not a validator"},
		{"same block ID twice", func(t *testing.T, c *fakeChain) types.Evidence {
			ev := duplicate(t, c, 2, 15, 0)
			ev.VoteB = vote(privKey(2), 15, 0, ev.VoteA.BlockID)
			return ev
		}, ErrInvalid, "invalid", "invalid evidence"},
		{"wrong power", func(t *testing.T, c *fakeChain) types.Evidence {
			ev := duplicate(t, c, 2, 15, 0)
			ev.ValidatorPower = 1
			return ev
		}, ErrInvalid, "invalid", "validator power 1"},
		{"future height", func(t *testing.T, c *fakeChain) types.Evidence { return duplicate(t, c, 2, 21, 0) }, ErrFutureHeight, "future_height", "last block 20"},
		{"wrong time", func(t *testing.T, c *fakeChain) types.Evidence {
			ev := duplicate(t, c, 2, 15, 0)
			ev.Timestamp = ev.Timestamp.Add(time.Nanosecond)
			return ev
		}, ErrWrongTime, "wrong_time", "has time"},
		{"expired by blocks and duration", func(t *testing.T, c *fakeChain) types.Evidence {
			c.advance(100) // 90 blocks and 90 minutes after height 10
			return duplicate(t, c, 2, 10, 0)
		}, ErrExpired, "expired", "max age"},
	})
}

func TestExpiryNeedsBothAges(t *testing.T) {
	p, c := newPool(t)
	ev := duplicate(t, c, 3, 5, 0)
	c.advance(50) // 45 blocks, 45 minutes: only the blocks are too many
	if err := p.Add(ev); err != nil {
		t.Fatalf("evidence older only in blocks: %v", err)
	}
	c.advance(66) // 61 blocks, 61 minutes
	if got := p.Pending(-1); len(got) != 0 {
		t.Errorf("expired evidence still pending")
	}
	if err := p.MarkCommitted(66, nil); err != nil {
		t.Fatal(err)
	}
	if m := p.Metrics(); m.Pending != 0 {
		t.Errorf("expired evidence not pruned: %+v", m)
	}
}

func TestCheckBlockEvidence(t *testing.T) {
	p, c := newPool(t)
	known, fresh, committed := duplicate(t, c, 0, 14, 0), duplicate(t, c, 1, 14, 0), duplicate(t, c, 2, 14, 0)
	bad := duplicate(t, c, 3, 14, 0)
	bad.VoteA.Signature = bad.VoteB.Signature
	c.st.Params.MaxBytes = int64(len(types.EncodeEvidence(known))) * 5 / 2 // two fit, not three
	for _, ev := range []types.Evidence{known, committed} {
		if err := p.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.MarkCommitted(20, types.EvidenceList{committed}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		list types.EvidenceList
		want error
	}{
		{"twice in the block", types.EvidenceList{known, fresh, known}, ErrDuplicate},
		{"already committed", types.EvidenceList{known, committed}, ErrCommitted},
		{"invalid", types.EvidenceList{bad}, types.ErrBadSignature},
		{"too large", types.EvidenceList{known, fresh, duplicate(t, c, 3, 13, 0)}, ErrTooLarge},
	} {
		if err := p.CheckBlockEvidence(tc.list); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := p.CheckBlockEvidence(types.EvidenceList{known, fresh}); err != nil {
		t.Fatalf("valid block evidence: %v", err)
	}
	if got := p.Metrics().Pending; got != 2 {
		t.Errorf("%d pending, want the known and the fresh evidence", got)
	}
}

func TestMarkCommittedAndReopen(t *testing.T) {
	fs := vfs.NewMem()
	c := newChain(t)
	p := openPool(t, c, fs)
	a, b := duplicate(t, c, 0, 16, 1), duplicate(t, c, 1, 17, 0)
	for _, ev := range []types.Evidence{a, b} {
		if err := p.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(21)
	if err := p.MarkCommitted(21, types.EvidenceList{a}); err != nil {
		t.Fatal(err)
	}
	if m := p.Metrics(); m.Committed != 1 || m.Pending != 1 {
		t.Errorf("metrics %+v", m)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = openPool(t, c, fs)
	defer p.Close()
	if got := hashes(p.Pending(-1)); len(got) != 1 || got[0] != b.Hash() {
		t.Fatalf("after reopening, pending %X, want %X", got, b.Hash())
	}
	if err := p.Add(a); !errors.Is(err, ErrCommitted) {
		t.Errorf("committed evidence after reopening: got %v", err)
	}
	// Once a is expired, its mark is pruned and it is refused as expired.
	c.advance(100)
	if err := p.MarkCommitted(100, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(a); !errors.Is(err, ErrExpired) {
		t.Errorf("expired committed evidence: got %v", err)
	}
	if err := p.checkNotCommitted(a.Hash(), a); err != nil {
		t.Errorf("the committed mark of expired evidence was kept: %v", err)
	}
}

func TestOpenRefusesCorruptPending(t *testing.T) {
	fs := vfs.NewMem()
	c := newChain(t)
	p := openPool(t, c, fs)
	if err := p.db.Set(key(pendingPrefix, types.Hash{1}), []byte{0x0a, 0x01, 0xff}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("evidence", c, Options{FS: fs}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want %v", err, ErrCorrupt)
	}
}

func TestPendingAfterStreamsEachOnce(t *testing.T) {
	p, c := newPool(t)
	a, b, d := duplicate(t, c, 0, 18, 0), duplicate(t, c, 1, 12, 0), duplicate(t, c, 2, 15, 0)
	for _, ev := range []types.Evidence{a, b} {
		if err := p.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	first := p.PendingAfter(0, 1)
	if got := hashes(first.Evidence); len(got) != 1 || got[0] != a.Hash() {
		t.Fatalf("first batch %X, want the first added %X", got, a.Hash())
	}
	second := p.PendingAfter(first.Next, 10)
	if got := hashes(second.Evidence); len(got) != 1 || got[0] != b.Hash() {
		t.Fatalf("second batch %X, want %X", got, b.Hash())
	}
	empty := p.PendingAfter(second.Next, 10)
	if len(empty.Evidence) != 0 || empty.Next != second.Next {
		t.Fatalf("nothing new: got %d evidence, cursor %d after %d", len(empty.Evidence), empty.Next, second.Next)
	}
	select {
	case <-empty.Wait:
		t.Fatal("Wait closed with nothing added")
	default:
	}
	if err := p.Add(a); err != nil { // already pending: nothing new
		t.Fatal(err)
	}
	if err := p.Add(d); err != nil {
		t.Fatal(err)
	}
	select {
	case <-empty.Wait:
	default:
		t.Fatal("Wait not closed after an addition")
	}
	if got := hashes(p.PendingAfter(empty.Next, 10).Evidence); len(got) != 1 || got[0] != d.Hash() {
		t.Fatalf("after the addition: %X, want only %X", got, d.Hash())
	}
	if err := p.MarkCommitted(20, types.EvidenceList{a}); err != nil {
		t.Fatal(err)
	}
	if got := hashes(p.PendingAfter(0, 10).Evidence); len(got) != 2 || got[0] != b.Hash() || got[1] != d.Hash() {
		t.Fatalf("after committing the first: %X, want %X then %X", got, b.Hash(), d.Hash())
	}
}

// refusal is evidence the pool must refuse: ev (which may change the chain)
// with an error wrapping want and saying says, counted under reason.
type refusal struct {
	name   string
	ev     func(t *testing.T, c *fakeChain) types.Evidence
	want   error
	reason string
	says   string
}

// checkRefusals adds each case's evidence to a new pool, which must
// refuse it as the case says and keep nothing.
func checkRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newPool(t)
			err := p.Add(tc.ev(t, c))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
			m := p.Metrics()
			if m.Pending != 0 || m.Rejected[tc.reason] != 1 || len(m.Rejected) != 1 {
				t.Errorf("metrics %+v, want one rejection %q", m, tc.reason)
			}
		})
	}
}
