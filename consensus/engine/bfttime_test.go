package engine_test

import (
	"crypto/ed25519"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/types"
)

// skewedClock is a shared fake clock read off by a fixed offset: one
// node's clock that runs early or late. Timers run on the shared clock.
type skewedClock struct {
	*engine.FakeClock
	off time.Duration
}

func (c skewedClock) Now() time.Time { return c.FakeClock.Now().Add(c.off) }

// medianByCopies is BFT time's weighted median worked out apart from the
// code under test: every precommit for the block is repeated as many times
// as its validator has power, and of the sorted copies the one at which
// their count reaches half the total (rounded down) is taken, as CometBFT's
// spec and WeightedMedian define it.
func medianByCopies(t *testing.T, c *types.Commit, vals *types.ValidatorSet) time.Time {
	t.Helper()
	var copies []time.Time
	for i, s := range c.Signatures {
		if s.Flag != types.BlockIDFlagCommit {
			continue
		}
		v := vals.Validators[i]
		if v.Address != s.ValidatorAddress {
			t.Fatalf("commit slot %d is signed by %X, the set has %X there", i, s.ValidatorAddress, v.Address)
		}
		for range v.VotingPower {
			copies = append(copies, s.Timestamp)
		}
	}
	slices.SortFunc(copies, time.Time.Compare)
	return copies[max(len(copies)/2-1, 0)]
}

// checkBFTTime checks node nd's chain up to top: the first block dated at
// genesis, every later one at the weighted median of its last commit,
// strictly later than the one before, and each precommit for a block
// dated after it. It returns the blocks, by height.
func (c *cluster) checkBFTTime(nd *node, top int64) map[int64]*types.Block {
	t := c.t.(*testing.T)
	t.Helper()
	vals := c.genesis.Validators // the set never changes in these tests
	blocks := map[int64]*types.Block{}
	for h := int64(1); h <= top; h++ {
		b, err := nd.store.LoadBlock(h)
		if err != nil {
			t.Fatal(err)
		}
		blocks[h] = b
		if h == 1 {
			if !b.Header.Time.Equal(c.genesis.Time) {
				t.Fatalf("block 1 dated %v, want the genesis time %v", b.Header.Time, c.genesis.Time)
			}
			continue
		}
		prev := blocks[h-1].Header.Time
		if want := medianByCopies(t, b.LastCommit, vals); !b.Header.Time.Equal(want) {
			t.Fatalf("block %d dated %v, want the weighted median %v of its last commit", h, b.Header.Time, want)
		}
		if !b.Header.Time.After(prev) {
			t.Fatalf("block %d dated %v, not after block %d's %v", h, b.Header.Time, h-1, prev)
		}
		for i, s := range b.LastCommit.Signatures {
			if s.Flag == types.BlockIDFlagCommit && s.Timestamp.Sub(prev) < time.Millisecond {
				t.Fatalf("validator %d precommitted block %d at %v, less than 1 ms after its time %v", i, h-1, s.Timestamp, prev)
			}
		}
	}
	return blocks
}

// awaitOnClock moves the shared fake clock 10 ms at a time, each time the
// nodes have settled, until cond holds (see await).
func awaitOnClock(t *testing.T, clock *engine.FakeClock, what string, cond func() bool) {
	t.Helper()
	await(t, 60*time.Second, what, func() bool {
		clock.Advance(10 * time.Millisecond)
		return cond()
	})
}

// Four validators whose clocks disagree (one an hour late, one an hour
// early, two within 2 s of each other) make a chain dated by BFT time: the
// genesis time, then weighted medians of the last commits, never the
// outliers' clocks. The late validator dates its precommits exactly 1 ms
// after the block they commit (CometBFT's vote time), since its own clock
// is before it.
func TestBFTTimeWithSkewedClocks(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 21)
		c.memStore = true
		base := engine.NewFakeClock(c.genesis.Time.Add(10 * time.Second))
		offsets := []time.Duration{0, 2 * time.Second, -time.Hour, time.Hour}
		for i, nd := range c.nodes {
			nd.clock = skewedClock{base, offsets[i]}
		}
		c.cfg = func(cfg *engine.Config) { cfg.RebroadcastInterval = time.Second }
		c.startAll()
		const top = 8
		awaitOnClock(t, base, "height 8 on skewed clocks", func() bool {
			for _, nd := range c.nodes {
				if nd.height() < top {
					return false
				}
			}
			return true
		})
		c.checkSameChain()
		blocks := c.checkBFTTime(c.nodes[0], top)
		lateAddr := types.AddressOf(c.nodes[2].priv.Public().(ed25519.PublicKey))
		var lateSigned int
		for h := int64(2); h <= top; h++ {
			b := blocks[h]
			if limit := base.Now().Add(2 * time.Second); b.Header.Time.After(limit) {
				t.Fatalf("block %d dated %v, after the correct clocks' latest reading %v", h, b.Header.Time, limit)
			}
			for _, s := range b.LastCommit.Signatures {
				if s.Flag == types.BlockIDFlagCommit && s.ValidatorAddress == lateAddr {
					lateSigned++
					if want := blocks[h-1].Header.Time.Add(time.Millisecond); !s.Timestamp.Equal(want) {
						t.Fatalf("the late validator precommitted block %d at %v, want its time plus 1 ms, %v", h-1, s.Timestamp, want)
					}
				}
			}
		}
		if lateSigned == 0 {
			t.Fatal("no last commit holds the late validator's precommit: its vote time was not tried")
		}
	})
}

// byzTrace records, from the network, the Byzantine validator's proposals
// and the correct validators' prevotes.
type byzTrace struct {
	mu        sync.Mutex
	byz       types.Address
	proposals []engine.ProposalMsg
	prevotes  []*types.Vote
}

func (r *byzTrace) observe(_ string, msg any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch m := msg.(type) {
	case engine.ProposalMsg:
		if m.Block != nil && m.Block.Header.ProposerAddress == r.byz {
			r.proposals = append(r.proposals, m)
		}
	case engine.VoteMsg:
		if m.Vote.Type == types.PrevoteType && m.Vote.ValidatorAddress != r.byz {
			r.prevotes = append(r.prevotes, m.Vote)
		}
	}
}

// A validator in the futuretime test mode proposes its blocks dated an
// hour ahead of BFT time. The three correct validators find each such
// block invalid and prevote nil in its round, none for it; the chain goes
// on in later rounds with correct proposers' blocks, dated by BFT time.
func TestFutureTimeProposalsAreRejected(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 22)
		c.memStore = true
		base := engine.NewFakeClock(c.genesis.Time.Add(10 * time.Second))
		c.clock = base
		c.cfg = func(cfg *engine.Config) { cfg.RebroadcastInterval = time.Second }
		byzNode := c.nodes[3]
		byzNode.byzantine = byzantine.FutureTime
		trace := &byzTrace{byz: types.AddressOf(byzNode.priv.Public().(ed25519.PublicKey))}
		c.net.Observe(trace.observe)
		c.startAll()
		const top = 9 // the Byzantine validator's turn as round-0 proposer comes every 4 heights
		awaitOnClock(t, base, "height 9 with a futuretime proposer", func() bool {
			for _, nd := range c.nodes[:3] {
				if nd.height() < top {
					return false
				}
			}
			return true
		})
		blocks := c.checkBFTTime(c.nodes[0], top)
		for h, b := range blocks {
			if b.Header.ProposerAddress == trace.byz {
				t.Fatalf("block %d, proposed by the futuretime validator, was committed", h)
			}
			if limit := base.Now().Add(time.Second); b.Header.Time.After(limit) {
				t.Fatalf("block %d dated %v, after the clock's %v", h, b.Header.Time, limit)
			}
		}

		trace.mu.Lock()
		defer trace.mu.Unlock()
		// The rounds of height h below its decision round (the round of block
		// h+1's last commit) ran at the correct validators and ended undecided.
		type hr struct {
			h int64
			r int32
		}
		future := map[types.BlockID]bool{}
		passed := map[hr]bool{}
		for _, m := range trace.proposals {
			h := m.Block.Header.Height
			want := c.genesis.Time
			if h > 1 {
				want = medianByCopies(t, m.Block.LastCommit, c.genesis.Validators)
			}
			if got := m.Block.Header.Time; got.Sub(want) != byzantine.FutureTimeSkew {
				t.Fatalf("the futuretime proposal at height %d is dated %v, BFT time is %v", h, got, want)
			}
			future[m.Proposal.BlockID] = true
			if h < top && m.Proposal.Round < blocks[h+1].LastCommit.Round {
				passed[hr{h, m.Proposal.Round}] = true
			}
		}
		if len(passed) < 2 {
			t.Fatalf("the futuretime validator proposed in %d rounds that ran below height %d, want at least 2", len(passed), top)
		}
		// Such a round ends with 2f+1 precommits, cast after 2f+1 prevotes, so
		// at least 2 of the 3 correct validators prevoted in it: nil.
		nilVoters := map[hr]map[types.Address]bool{}
		for _, v := range trace.prevotes {
			if future[v.BlockID] {
				t.Fatalf("correct validator %X prevoted the future-dated block %v at height %d round %d", v.ValidatorAddress[:6], v.BlockID, v.Height, v.Round)
			}
			if k := (hr{v.Height, v.Round}); passed[k] && v.BlockID.IsNil() {
				if nilVoters[k] == nil {
					nilVoters[k] = map[types.Address]bool{}
				}
				nilVoters[k][v.ValidatorAddress] = true
			}
		}
		for k := range passed {
			if n := len(nilVoters[k]); n < 2 {
				t.Fatalf("height %d round %d, proposed by the futuretime validator: %d correct nil prevotes, want at least 2", k.h, k.r, n)
			}
		}
	})
}

// A validator whose clock is a minute behind finds every other proposer's
// block dated past its block_time_tolerance of 30 s (block 1 is dated at
// genesis, 50 s ahead of it) and prevotes nil, and falls behind while the
// other three go on; with a tolerance of two minutes it follows the chain
// like the rest. (Its own blocks it builds and prevotes without the check.)
func TestBlockTimeTolerance(t *testing.T) {
	for _, tc := range []struct {
		tolerance time.Duration
		follows   bool
	}{{30 * time.Second, false}, {2 * time.Minute, true}} {
		t.Run(tc.tolerance.String(), func(t *testing.T) {
			simTest(t, func(t *testing.T) {
				c := newCluster(t, 4, 23)
				c.memStore = true
				base := engine.NewFakeClock(c.genesis.Time.Add(10 * time.Second))
				c.clock = base
				behind := c.nodes[3]
				behind.clock = skewedClock{base, -time.Minute}
				c.cfg = func(cfg *engine.Config) {
					cfg.RebroadcastInterval = time.Second
					cfg.BlockTimeTolerance = tc.tolerance
				}
				addr := types.AddressOf(behind.priv.Public().(ed25519.PublicKey))
				var mu sync.Mutex
				var forBlocks int
				proposer := map[types.BlockID]types.Address{}
				c.net.Observe(func(_ string, msg any) {
					mu.Lock()
					defer mu.Unlock()
					switch m := msg.(type) {
					case engine.ProposalMsg:
						proposer[m.Proposal.BlockID] = m.Block.Header.ProposerAddress
					case engine.VoteMsg:
						v := m.Vote
						if v.ValidatorAddress == addr && v.Type == types.PrevoteType && !v.BlockID.IsNil() && proposer[v.BlockID] != addr {
							forBlocks++
						}
					}
				})
				c.startAll()
				others := c.nodes[:3]
				awaitOnClock(t, base, "height 5 at the other validators", func() bool {
					for _, nd := range others {
						if nd.height() < 5 {
							return false
						}
					}
					return !tc.follows || behind.height() >= 5
				})
				mu.Lock()
				defer mu.Unlock()
				if tc.follows {
					if forBlocks == 0 {
						t.Fatal("the validator within tolerance never prevoted another's block")
					}
					c.checkSameChain()
					return
				}
				if forBlocks != 0 || behind.height() >= 5 {
					t.Fatalf("the validator a minute behind prevoted %d blocks of others and committed %d heights, want none and fewer than 5",
						forBlocks, behind.height())
				}
			})
		})
	}
}
