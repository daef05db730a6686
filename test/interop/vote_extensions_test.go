package interop

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
)

// veFull runs TestCometE2EAppVoteExtensions at its full size: 300 heights
// and 5 restarts of the next proposer (the default, for `make test`, is 60
// heights and 2 restarts). BFTNODE_LONG=1 (`make test-long`) does too.
var veFull = flag.Bool("ve.full", false, "vote extensions interop: 300 heights, 5 proposer restarts")

// veEnableHeight and veExtensionSize are the chain's vote extension height
// and the size of every extension CometBFT's e2e app makes.
const (
	veEnableHeight  = 2
	veExtensionSize = 1024
)

// extApp is CometBFT's end-to-end application with a record of what its
// vote extension calls saw. The e2e app panics on any error it finds (an
// extension signature that does not verify, a missing or unexpected
// extension, an extension tx that does not match the commit); extApp turns
// such a panic into a recorded error and an error answer, so the test
// reports it instead of the ABCI server dying.
type extApp struct {
	*e2eapp.Application

	mu       sync.Mutex
	errs     []string
	prepared map[int64]int // height → precommits for the block with an extension in local_last_commit
	commits  map[int64]int // height → precommits for the block in local_last_commit
	// since are the heights prepared since the last call of mark.
	since []int64
}

func newExtApp(t *testing.T) *extApp {
	t.Helper()
	cfg := e2eapp.DefaultConfig(t.TempDir())
	cfg.VoteExtensionsEnableHeight = veEnableHeight
	cfg.VoteExtensionsUpdateHeight = -1 // set by the genesis
	cfg.VoteExtensionSize = veExtensionSize
	app, err := e2eapp.NewApplication(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &extApp{Application: app, prepared: map[int64]int{}, commits: map[int64]int{}}
}

func (a *extApp) fail(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, fmt.Sprintf(format, args...))
}

// guard runs call, recording a panic of the application as an error.
func (a *extApp) guard(what string, height int64, call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.fail("%s at height %d: the app panicked: %v", what, height, r)
			err = fmt.Errorf("%s: %v", what, r)
		}
	}()
	if err := call(); err != nil {
		a.fail("%s at height %d: %v", what, height, err)
		return err
	}
	return nil
}

// PrepareProposal records the extensions of local_last_commit, then lets the
// e2e app check every one of their signatures and sum them into its tx.
func (a *extApp) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (resp *abci.ResponsePrepareProposal, err error) {
	var withExt, forBlock int
	for _, v := range req.LocalLastCommit.Votes {
		if v.BlockIdFlag == cmtproto.BlockIDFlagCommit {
			forBlock++
			if len(v.VoteExtension) == veExtensionSize && len(v.ExtensionSignature) > 0 {
				withExt++
			}
		}
	}
	a.mu.Lock()
	a.prepared[req.Height], a.commits[req.Height] = withExt, forBlock
	a.since = append(a.since, req.Height)
	a.mu.Unlock()
	err = a.guard("PrepareProposal", req.Height, func() (err error) {
		resp, err = a.Application.PrepareProposal(ctx, req)
		return err
	})
	return resp, err
}

// ProcessProposal records a proposal the e2e app rejects (its extension tx
// does not verify against the extended commit it carries).
func (a *extApp) ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (resp *abci.ResponseProcessProposal, err error) {
	err = a.guard("ProcessProposal", req.Height, func() (err error) {
		if resp, err = a.Application.ProcessProposal(ctx, req); err == nil && resp.Status != abci.ResponseProcessProposal_ACCEPT {
			return fmt.Errorf("rejected the proposal")
		}
		return err
	})
	return resp, err
}

// VerifyVoteExtension records an extension the e2e app rejects.
func (a *extApp) VerifyVoteExtension(ctx context.Context, req *abci.RequestVerifyVoteExtension) (resp *abci.ResponseVerifyVoteExtension, err error) {
	err = a.guard("VerifyVoteExtension", req.Height, func() (err error) {
		if resp, err = a.Application.VerifyVoteExtension(ctx, req); err == nil && resp.Status != abci.ResponseVerifyVoteExtension_ACCEPT {
			return fmt.Errorf("rejected the extension of %X", req.ValidatorAddress)
		}
		return err
	})
	return resp, err
}

// ExtendVote records a panic of the e2e app (called where extensions are
// not in force).
func (a *extApp) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (resp *abci.ResponseExtendVote, err error) {
	err = a.guard("ExtendVote", req.Height, func() (err error) {
		resp, err = a.Application.ExtendVote(ctx, req)
		return err
	})
	return resp, err
}

// mark forgets which heights were prepared so far (see preparedSince).
func (a *extApp) mark() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.since = nil
}

// preparedSince is the first height this app prepared a proposal for since
// mark, and how many extensions its local_last_commit carried.
func (a *extApp) preparedSince() (height int64, withExt, forBlock int, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.since) == 0 {
		return 0, 0, 0, false
	}
	h := a.since[0]
	return h, a.prepared[h], a.commits[h], true
}

// proposed says whether this app prepared the proposal of height h.
func (a *extApp) proposed(h int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.prepared[h]
	return ok
}

// setGenesisVoteExtensions sets consensus_params.abci.vote_extensions_enable_height
// in the genesis file at path.
func setGenesisVoteExtensions(t *testing.T, path string, h int64) {
	t.Helper()
	editGenesis(t, path, func(g map[string]any) {
		params, _ := g["consensus_params"].(map[string]any)
		if params == nil {
			t.Fatalf("%s has no consensus_params", path)
		}
		params["abci"] = map[string]any{"vote_extensions_enable_height": fmt.Sprint(h)}
	})
}

// TestCometE2EAppVoteExtensions: CometBFT v0.40.0's end-to-end app, with
// vote extensions from height 2 (the genesis' abci.vote_extensions_enable_height)
// and 1 KiB extensions, behind four bftnode validators. Every proposer's
// PrepareProposal gets the previous height's precommits with their
// extensions and signatures, which the app checks itself (and again in
// ProcessProposal, from the tx that carries them): it reports no error,
// and every precommit for the block carries its 1 KiB extension. The next
// proposer is restarted mid-run several times; each time, once back, its
// next proposal's PrepareProposal still gets the extensions (read from its
// block store, after catching up by block sync where it missed heights).
func TestCometE2EAppVoteExtensions(t *testing.T) {
	heights, restarts := int64(60), 2
	if *veFull || os.Getenv("BFTNODE_LONG") != "" {
		heights, restarts = 300, 5
	}
	start := time.Now()
	apps := make([]*extApp, 4)
	addrs := make([]string, 4)
	for i := range apps {
		apps[i] = newExtApp(t)
		addrs[i] = serveCometApp(t, [2]string{"tcp", "unix"}[i%2], apps[i])
	}
	nw := newNetwork(t, 4, netOptions{
		ProxyApp: func(i int) string { return addrs[i] },
		Flags:    fastCommitFlags,
		Setup: func(nw *network) {
			for _, nd := range nw.nodes {
				setGenesisVoteExtensions(t, filepath.Join(nd.home, "config", "genesis.json"), veEnableHeight)
			}
		},
	})
	checkErrs := func() {
		t.Helper()
		for i, a := range apps {
			a.mu.Lock()
			errs := a.errs
			a.mu.Unlock()
			if len(errs) > 0 {
				t.Fatalf("node%d's e2e app reports %d errors, the first: %s", i, len(errs), errs[0])
			}
		}
	}
	gap := heights / int64(restarts+1)
	for r := 1; r <= restarts; r++ {
		nw.waitHeight(int64(r)*gap, 5*time.Minute)
		checkErrs()
		h, err := nw.height(0)
		if err != nil {
			t.Fatal(err)
		}
		// With equal powers, proposers take turns: the proposer of h-2
		// proposes h+2, the height after the one being decided (h is the
		// last committed).
		next := -1
		for i, a := range apps {
			if a.proposed(h - 2) {
				next = i
			}
		}
		if next < 0 {
			t.Fatalf("no app prepared the proposal of height %d", h-2)
		}
		t.Logf("restart %d: node%d, at height %d", r, next, h)
		if err := nw.stop(next); err != nil {
			t.Logf("node%d stopped with %v", next, err)
		}
		apps[next].mark() // what it prepares from now on, the restarted node asked for
		nw.start(next)
		poll(t, fmt.Sprintf("node%d to propose again after its restart at height %d", next, h), 3*time.Minute, func() (bool, error) {
			ph, withExt, forBlock, ok := apps[next].preparedSince()
			if ok {
				t.Logf("node%d, restarted at %d, prepared height %d with %d of %d precommits extended", next, h, ph, withExt, forBlock)
				if withExt != forBlock || forBlock < 3 {
					return false, fmt.Errorf("node%d, restarted at height %d, prepared %d with %d of %d precommits for the block extended", next, h, ph, withExt, forBlock)
				}
			}
			return ok, nil
		})
	}
	nw.waitHeight(heights, 10*time.Minute)
	checkErrs()
	var proposals int
	for i, a := range apps {
		a.mu.Lock()
		for h, withExt := range a.prepared {
			proposals++
			forBlock := a.commits[h]
			switch {
			case h <= veEnableHeight && withExt != 0:
				t.Errorf("node%d: PrepareProposal of height %d got %d extensions; none before the height after %d", i, h, withExt, veEnableHeight)
			case h > veEnableHeight && (withExt != forBlock || forBlock < 3):
				t.Errorf("node%d: PrepareProposal of height %d got %d extensions for %d precommits for the block", i, h, withExt, forBlock)
			}
		}
		a.mu.Unlock()
	}
	if proposals < int(heights) {
		t.Errorf("%d PrepareProposal calls for %d heights", proposals, heights)
	}
	checkAppsAgree(t, nw, heights)
	t.Logf("%d heights, %d restarts, %d proposals with extensions checked, in %v", heights, restarts, proposals, time.Since(start).Round(time.Second))
}
