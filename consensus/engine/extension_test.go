package engine_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus/engine"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// extKV is the kvstore with vote extensions: ExtendVote answers
// "ext/<height>", VerifyVoteExtension accepts those of the vote's height
// except from the validator reject names. It records what it was asked.
type extKV struct {
	*kvstore.App
	// setAt, when positive, is the height whose FinalizeBlock returns
	// abci.vote_extensions_enable_height = enableAt.
	setAt, enableAt int64
	reject          []byte

	mu       sync.Mutex
	extended []int64          // heights of ExtendVote calls
	local    map[int64][2]int // PrepareProposal height → precommits for the block with an extension, all of them
	rejected map[string]int   // validator address → extensions rejected
}

func (a *extKV) ExtendVote(_ context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.extended = append(a.extended, req.Height)
	return &abci.ResponseExtendVote{VoteExtension: fmt.Appendf(nil, "ext/%d", req.Height)}, nil
}

func (a *extKV) VerifyVoteExtension(_ context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	ok := bytes.Equal(req.VoteExtension, fmt.Appendf(nil, "ext/%d", req.Height)) && !bytes.Equal(req.ValidatorAddress, a.reject)
	if !ok {
		a.mu.Lock()
		a.rejected[string(req.ValidatorAddress)]++
		a.mu.Unlock()
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
	}
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

func (a *extKV) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var withExt, forBlock int
	for _, v := range req.LocalLastCommit.Votes {
		if v.BlockIdFlag == tmtypes.BlockIDFlagCommit {
			forBlock++
			if bytes.Equal(v.VoteExtension, fmt.Appendf(nil, "ext/%d", req.Height-1)) && len(v.ExtensionSignature) == ed25519.SignatureSize {
				withExt++
			}
		} else if len(v.VoteExtension) > 0 || len(v.ExtensionSignature) > 0 {
			withExt = -1000 // an extension where none belongs
		}
	}
	a.mu.Lock()
	a.local[req.Height] = [2]int{withExt, forBlock}
	a.mu.Unlock()
	return a.App.PrepareProposal(ctx, req)
}

func (a *extKV) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	resp, err := a.App.FinalizeBlock(ctx, req)
	if err == nil && req.Height == a.setAt {
		resp.ConsensusParamUpdates = &tmtypes.ConsensusParams{Abci: &tmtypes.ABCIParams{VoteExtensionsEnableHeight: a.enableAt}}
	}
	return resp, err
}

// withExtKV gives every node of c an extKV, made by setup, and returns
// them by node.
func withExtKV(c *cluster, setup func(*extKV)) []*extKV {
	apps := make([]*extKV, len(c.nodes))
	for i, nd := range c.nodes {
		apps[i] = &extKV{local: map[int64][2]int{}, rejected: map[string]int{}}
		setup(apps[i])
		nd.openApp = func() (app.Application, func() error, error) {
			kv, err := kvstore.Open(filepath.Join(nd.dir, "app"))
			if err != nil {
				return nil, nil, err
			}
			apps[i].App = kv
			return apps[i], kv.Close, nil
		}
	}
	return apps
}

func defaultTestParams() blockstore.ConsensusParams {
	return blockstore.ConsensusParams{
		MaxBlockBytes: 4 << 20, MaxGas: -1, EvidenceMaxAgeNumBlocks: 100, EvidenceMaxAgeDuration: time.Hour,
		PubKeyTypes: []string{"ed25519"},
	}
}

// TestVoteExtensionHeightFromParamUpdate: the application's
// ConsensusParamUpdates from FinalizeBlock of height 3 set
// abci.vote_extensions_enable_height to 4, and extensions are in force at
// height 4 on every node, not before: ExtendVote is first called for 4,
// the block store keeps the extended commits of 4 on (checked and
// verified), and PrepareProposal of 5 on gets every precommit for the
// block with its extension and signature, that of 4 and below none.
func TestVoteExtensionHeightFromParamUpdate(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 51)
		c.genesis.ConsensusParams = defaultTestParams()
		apps := withExtKV(c, func(a *extKV) { a.setAt, a.enableAt = 3, 4 })
		c.startAll()
		c.awaitHeight(8, 90*time.Second)
		var first int64
		for i, a := range apps {
			a.mu.Lock()
			for _, h := range a.extended {
				if h < 4 {
					t.Errorf("n%d: ExtendVote at height %d, before the extensions' height 4", i, h)
				}
				if first == 0 || h < first {
					first = h
				}
			}
			for h, n := range a.local {
				switch {
				case h <= 4 && n[0] != 0:
					t.Errorf("n%d: PrepareProposal of %d got %d extensions, want none", i, h, n[0])
				case h > 4 && (n[0] != n[1] || n[1] < 3):
					t.Errorf("n%d: PrepareProposal of %d got %d extensions for %d precommits for the block", i, h, n[0], n[1])
				}
			}
			a.mu.Unlock()
		}
		if first != 4 {
			t.Errorf("the first ExtendVote was for height %d, want 4", first)
		}
		src := guardedSource{c.nodes[1]}
		if _, err := src.LoadExtendedCommit(3); !errors.Is(err, blockstore.ErrNotFound) {
			t.Errorf("an extended commit stored for height 3, before extensions: %v", err)
		}
		for h := int64(4); h <= 7; h++ {
			ec, err := src.LoadExtendedCommit(h)
			if err != nil {
				t.Fatalf("extended commit of %d: %v", h, err)
			}
			if err := ec.Check(true); err != nil {
				t.Errorf("extended commit of %d: %v", h, err)
			}
			if err := ec.VerifyExtensions(testChain, c.genesis.Validators); err != nil {
				t.Errorf("extended commit of %d: %v", h, err)
			}
		}
		for h, want := range map[int64]int64{3: 0, 4: 4, 7: 4} {
			var p blockstore.ConsensusParams
			err := src.with(func(s nodeStore) (err error) {
				ps, ok := s.(interface {
					LoadConsensusParams(int64) (blockstore.ConsensusParams, error)
				})
				if !ok {
					return fmt.Errorf("store %T keeps no consensus parameters", s)
				}
				p, err = ps.LoadConsensusParams(h)
				return err
			})
			if err != nil || p.VoteExtensionsEnableHeight != want {
				t.Errorf("parameters of height %d: vote extensions from %d (%v), want %d", h, p.VoteExtensionsEnableHeight, err, want)
			}
		}
	})
}

// TestRejectedVoteExtensionNotCounted: one node's application rejects
// every extension of one validator. That node does not count (nor relay)
// the validator's precommits for a block, while the others relay them, and
// the chain goes on.
func TestRejectedVoteExtensionNotCounted(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 52)
		c.genesis.ConsensusParams = defaultTestParams()
		c.genesis.ConsensusParams.VoteExtensionsEnableHeight = 2
		victim := types.AddressOf(c.nodes[0].priv.Public().(ed25519.PublicKey))
		judge := c.nodes[3]
		apps := withExtKV(c, func(a *extKV) {})
		apps[3].reject = victim[:]
		c.startAll()
		c.awaitHeight(6, 90*time.Second)
		relayed := func(nd *node) int {
			n := 0
			for _, m := range nd.ep.Relayed() {
				if v, ok := m.(engine.VoteMsg); ok && v.Vote.ValidatorAddress == victim && v.Vote.ExtendsBlock() && v.Vote.Height >= 2 {
					n++
				}
			}
			return n
		}
		if n := relayed(judge); n != 0 {
			t.Errorf("the judging node relayed %d precommits whose extension its application rejects", n)
		}
		if n := relayed(c.nodes[1]); n == 0 {
			t.Error("another node relayed none of the validator's extended precommits")
		}
		apps[3].mu.Lock()
		n := apps[3].rejected[string(victim[:])]
		apps[3].mu.Unlock()
		if n == 0 {
			t.Error("the judging node's application was never asked about the rejected validator's extensions")
		}
	})
}

// TestOversizedVoteExtensionReported: a precommit whose extension is over
// types.MaxVoteExtensionSize is refused, and its sender reported.
func TestOversizedVoteExtensionReported(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 53)
		c.genesis.ConsensusParams = defaultTestParams()
		c.genesis.ConsensusParams.VoteExtensionsEnableHeight = 1
		withExtKV(c, func(*extKV) {})
		c.startAll()
		c.awaitHeight(2, 30*time.Second)
		nd := c.nodes[0]
		seen, err := c.nodes[1].store.LoadSeenCommit(1)
		if err != nil {
			t.Fatal(err)
		}
		slot := 0
		for seen.Signatures[slot].Flag != types.BlockIDFlagCommit {
			slot++
		}
		spoof := c.net.Join("spoofer", nil)
		before := len(nd.ep.Reports())
		// For this height and the next few: the node may move on meanwhile.
		for k := int64(1); k <= 4; k++ {
			v := *seen.VoteAt(slot)
			v.Height = nd.height() + k
			v.Extension = make([]byte, types.MaxVoteExtensionSize+1)
			v.ExtensionSignature = make([]byte, ed25519.SignatureSize)
			spoof.Broadcast(engine.VoteMsg{Vote: &v})
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("node height %d, reports %+v", nd.height(), nd.ep.Reports()[before:])
			}
		})
		await(t, 30*time.Second, "the oversized extension reported", func() bool {
			for _, r := range nd.ep.Reports()[before:] {
				if r.Peer == "spoofer" && errors.Is(r.Reason, types.ErrInvalidExtension) {
					return true
				}
			}
			return false
		})
	})
}

// TestProposerAfterCatchUpHasExtensions: a validator that missed the
// first heights catches up from its peers' committed blocks, which come
// with their extended commits; once it proposes, its PrepareProposal gets
// every precommit for the block with its extension. A committed block
// without its extended commit, at a height with extensions in force, is
// refused and its sender reported.
func TestProposerAfterCatchUpHasExtensions(t *testing.T) {
	simTest(t, func(t *testing.T) {
		c := newCluster(t, 4, 54)
		c.genesis.ConsensusParams = defaultTestParams()
		c.genesis.ConsensusParams.VoteExtensionsEnableHeight = 2
		apps := withExtKV(c, func(*extKV) {})
		late := c.nodes[3]
		for _, nd := range c.nodes[:3] {
			c.start(nd)
		}
		c.awaitHeight(6, 60*time.Second)
		c.start(late)
		await(t, 60*time.Second, "the late validator to propose", func() bool {
			apps[3].mu.Lock()
			defer apps[3].mu.Unlock()
			return len(apps[3].local) > 0
		})
		apps[3].mu.Lock()
		for h, n := range apps[3].local {
			if n[0] != n[1] || n[1] < 3 {
				t.Errorf("the late validator's PrepareProposal of %d got %d extensions for %d precommits for the block", h, n[0], n[1])
			}
		}
		apps[3].mu.Unlock()

		c.stop(late)
		top := c.nodes[0].height() + 2
		c.awaitHeight(top, 30*time.Second) // the running ones
		src := guardedSource{c.nodes[0]}
		blocks, seens := map[int64]*types.Block{}, map[int64]*types.Commit{}
		for h := int64(1); h <= top; h++ {
			b, err := src.LoadBlock(h)
			if err != nil {
				t.Fatal(err)
			}
			seen, err := src.LoadSeenCommit(h)
			if err != nil {
				t.Fatal(err)
			}
			blocks[h], seens[h] = b, seen
		}
		// Only the spoofer is left to give the late node the next height.
		for _, nd := range c.nodes[:3] {
			c.stop(nd)
		}
		c.start(late)
		h := late.height() + 1
		b, seen := blocks[h], seens[h]
		if b == nil {
			t.Fatalf("the late node is at height %d, past the %d blocks kept", h-1, top)
		}
		spoof := c.net.Join("spoofer", nil)
		spoof.Broadcast(engine.CommitMsg{Block: b, Commit: seen})
		await(t, 30*time.Second, "the block without its extensions reported", func() bool {
			for _, r := range late.ep.Reports() {
				if r.Peer == "spoofer" && errors.Is(r.Reason, engine.ErrBadMessage) {
					return true
				}
			}
			return false
		})
		if got := late.height(); got != h-1 {
			t.Fatalf("the late node applied the block without its extensions: height %d, want %d", got, h-1)
		}
	})
}
