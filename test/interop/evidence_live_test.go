package interop

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cmtevidence "github.com/cometbft/cometbft/evidence"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
)

var byzantineBuild struct {
	once sync.Once
	path string
	err  error
}

// byzantineBin is the test-only bftnode-byzantine binary, built from this
// tree the first time a test needs it, next to bftnodeBin.
func byzantineBin(t *testing.T) string {
	t.Helper()
	b := &byzantineBuild
	b.once.Do(func() {
		b.path = filepath.Join(filepath.Dir(bftnodeBin), "bftnode-byzantine")
		build := exec.Command("go", "build", "-o", b.path, "./internal/byzantine/cmd/bftnode-byzantine")
		build.Dir = filepath.Join("..", "..")
		var out bytes.Buffer
		build.Stdout, build.Stderr = &out, &out
		if err := build.Run(); err != nil {
			b.err = err
			b.path = out.String()
		}
	})
	if b.err != nil {
		t.Fatalf("go build ./internal/byzantine/cmd/bftnode-byzantine: %v\n%s", b.err, b.path)
	}
	return b.path
}

// byzantineCmd is the command running node home in mode with the settings
// of the `bftnode start` args (--key=value flags) as BFTNODE_* variables,
// which is how bftnode-byzantine takes them.
func byzantineCmd(t *testing.T, home, mode string, startArgs []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(byzantineBin(t), "--home", home, "--mode", mode)
	cmd.Env = os.Environ()
	for _, a := range startArgs {
		key, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			continue // "start", "--home DIR": given above
		}
		cmd.Env = append(cmd.Env, "BFTNODE_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_"))+"="+value)
	}
	return cmd
}

// TestEvidenceFromBftnodeVerifiedByCometBFT (must-show 5): in a network of
// four real bftnode processes, node3 double-votes (bftnode-byzantine
// doublevote); bftnode's own nodes detect it and commit the evidence. With
// CometBFT's client and types: /block decodes, the block passes CometBFT's
// ValidateBasic (its evidence hash included), each piece of evidence is a
// DuplicateVoteEvidence against node3 whose time is its height's block
// time, and CometBFT's evidence.VerifyDuplicateVote accepts it against the
// validator set /validators serves for its height.
func TestEvidenceFromBftnodeVerifiedByCometBFT(t *testing.T) {
	byzantineBin(t) // built first, so that node3 starts with the others
	nw := newNetwork(t, 4, netOptions{Byzantine: map[int]string{3: "doublevote"}})
	c, _ := cometClient(t, nw.nodes[0])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	byz := cometLoadFilePV(t, nw.nodes[3].home, false).GetAddress()

	var block *cmttypes.Block
	for h := int64(1); block == nil; h++ {
		nw.waitHeight(h, 2*time.Minute)
		res, err := c.Block(ctx, &h)
		if err != nil {
			t.Fatalf("block %d: CometBFT's client: %v", h, err)
		}
		if len(res.Block.Evidence.Evidence) > 0 {
			block = res.Block
		}
		if h > 30 {
			t.Fatalf("no evidence in the first 30 blocks; node3 double-votes at every height")
		}
	}
	if err := block.ValidateBasic(); err != nil {
		t.Fatalf("block %d with evidence: CometBFT's ValidateBasic: %v", block.Height, err)
	}
	for i, ev := range block.Evidence.Evidence {
		dv, ok := ev.(*cmttypes.DuplicateVoteEvidence)
		if !ok {
			t.Fatalf("block %d evidence %d is %T, want DuplicateVoteEvidence", block.Height, i, ev)
		}
		if !bytes.Equal(dv.VoteA.ValidatorAddress, byz) {
			t.Fatalf("block %d evidence %d accuses %X, want node3's %X", block.Height, i, dv.VoteA.ValidatorAddress, byz)
		}
		h := dv.Height()
		at, err := c.Block(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		if !dv.Time().Equal(at.Block.Time) {
			t.Errorf("evidence %d: time %v, block %d's %v", i, dv.Time(), h, at.Block.Time)
		}
		if err := cmtevidence.VerifyDuplicateVote(dv, nw.chainID, validatorsAt(ctx, t, c, h)); err != nil {
			t.Errorf("evidence %d (votes at height %d): CometBFT's VerifyDuplicateVote: %v", i, h, err)
		}
	}
}

// validatorsAt is the validator set /validators serves for height h (all
// pages), as CometBFT's type.
func validatorsAt(ctx context.Context, t *testing.T, c *rpchttp.HTTP, h int64) *cmttypes.ValidatorSet {
	t.Helper()
	var vals []*cmttypes.Validator
	perPage := 100
	for page := 1; ; page++ {
		res, err := c.Validators(ctx, &h, &page, &perPage)
		if err != nil {
			t.Fatalf("validators at %d: CometBFT's client: %v", h, err)
		}
		vals = append(vals, res.Validators...)
		if len(vals) >= res.Total || len(res.Validators) == 0 {
			break
		}
	}
	set, err := cmttypes.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		t.Fatalf("validators at %d: %v", h, err)
	}
	return set
}
