package sim

import (
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Each validator's clock offset is drawn from the seed, within ClockSkew;
// a FutureTime validator's is an hour.
func TestClockOffsetsFollowTheSeed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Validators = 7
	offsets := func(seed uint64) []time.Duration {
		cfg.Seed = seed
		var out []time.Duration
		w, err := newWorld(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range w.nodes {
			out = append(out, n.clock)
		}
		return out
	}
	a, b, other := offsets(3), offsets(3), offsets(4)
	for i, off := range a {
		switch {
		case off != b[i]:
			t.Fatalf("seed 3 gave node %d offsets %v and %v", i, off, b[i])
		case off < -cfg.ClockSkew || off > cfg.ClockSkew:
			t.Fatalf("node %d is off by %v, beyond ±%v", i, off, cfg.ClockSkew)
		}
	}
	if slices.Equal(a, other) {
		t.Fatalf("seeds 3 and 4 gave the same offsets %v", a)
	}
}

// The BFT time checks report what they are there to catch.
func TestCheckerCatchesBFTTimeViolations(t *testing.T) {
	w, err := newWorld(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	n0 := w.nodes[0]
	kinds := func() string {
		var ks []string
		for _, v := range w.check.violations {
			ks = append(ks, v.Kind+": "+v.Detail)
		}
		w.check.violations = nil
		return strings.Join(ks, "\n")
	}
	want := func(what string, got string) {
		t.Helper()
		if !strings.Contains(got, ViolationBFTTime+":") {
			t.Fatalf("%s: no %s violation in %q", what, ViolationBFTTime, got)
		}
	}

	// A first block dated after genesis, proposed and decided.
	late := testBlock(n0, 1, nil, 0)
	late.Header.Time = late.Header.Time.Add(time.Second)
	id := blockID(late)
	if !w.check.proposed(id, late) {
		t.Fatal("a block dated a second after genesis is not misdated")
	}
	v := &types.Vote{Type: types.PrevoteType, Height: 1, BlockID: id, Timestamp: epoch.Add(time.Second)}
	w.check.signedVote(0, v, late)
	want("a correct prevote for a misdated block", kinds())
	w.check.decided(0, 1, 0, id, late)
	want("a misdated decided block", kinds())

	// A precommit dated less than 1 ms after its block.
	b1 := testBlock(n0, 1, nil, 1)
	pc := &types.Vote{Type: types.PrecommitType, Height: 1, BlockID: blockID(b1), Timestamp: b1.Header.Time.Add(time.Millisecond - 1)}
	w.check.signedVote(1, pc, b1)
	want("a precommit dated too early", kinds())
	pc.Timestamp = b1.Header.Time.Add(time.Millisecond)
	w.check.signedVote(2, pc, b1)
	if got := kinds(); got != "" {
		t.Fatalf("a precommit dated 1 ms after its block: %s", got)
	}

	// Height 2 after a commit where the two validators taken for
	// Byzantine dated their precommits early: the median is theirs,
	// outside the correct ones' times, which BFT time with more than a
	// third Byzantine cannot rule out and the checker must notice.
	w.check.decided(0, 1, 0, blockID(b1), b1)
	c := &types.Commit{Height: 1, BlockID: blockID(b1), Signatures: make([]types.CommitSig, len(w.nodes))}
	vals := w.valsAt(1)
	for _, n := range w.nodes {
		i, _ := vals.ByAddress(n.addr)
		ms := 10 + int(i)
		if n.idx >= 2 {
			ms = 1 + int(i)
		}
		pv := types.Vote{Type: types.PrecommitType, Height: 1, BlockID: c.BlockID, Timestamp: epoch.Add(time.Duration(ms) * time.Millisecond),
			ValidatorAddress: n.addr, ValidatorIndex: i}
		c.Signatures[i] = types.CommitSig{Flag: types.BlockIDFlagCommit, ValidatorAddress: n.addr, Timestamp: pv.Timestamp,
			Signature: ed25519.Sign(n.priv, types.VoteSignBytes(ChainID, &pv))}
	}
	for _, n := range w.nodes {
		w.check.correct[n.addr] = n.idx < 2
	}
	b2 := testBlock(n0, 2, c, 0)
	w.check.proposed(blockID(b2), b2)
	w.check.decided(0, 2, 0, blockID(b2), b2)
	got := kinds()
	want("a median outside the correct validators' times", got)
	if !strings.Contains(got, "outside the correct validators' precommit times") {
		t.Fatalf("not the range check: %s", got)
	}
}

// testBlock is a block of height h proposed by n, with last commit c (of
// block h-1), dated by BFT time; variant tells blocks apart.
func testBlock(n *node, h int64, c *types.Commit, variant byte) *types.Block {
	b := &types.Block{
		Header: types.Header{
			Version: types.Version{Block: types.BlockProtocol},
			ChainID: ChainID, Height: h,
			ValidatorsHash:  n.w.valsAt(h).Hash(),
			ProposerAddress: n.addr,
		},
		Data:       types.Data{Txs: [][]byte{{variant}}},
		LastCommit: c,
	}
	if c != nil {
		b.Header.LastBlockID = c.BlockID
	}
	t, err := types.BlockTime(h, 1, epoch, c, n.w.valsAt(h-1))
	if err != nil {
		panic(err)
	}
	b.Header.Time = t
	b.FillHeader()
	return b
}
