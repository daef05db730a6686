package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
)

// signedDuplicateVote is real evidence against nd's validator, built and
// signed by CometBFT's code with nd's key: two prevotes at height 1, round
// 0, for two made-up blocks, with height 1's block time and validator set
// as nd serves them.
func signedDuplicateVote(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nd *bnode, chainID string) *cmttypes.DuplicateVoteEvidence {
	t.Helper()
	pv := cometLoadFilePV(t, nd.home, false)
	h := int64(1)
	block, err := c.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := c.Validators(ctx, &h, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := slices.IndexFunc(vals.Validators, func(v *cmttypes.Validator) bool { return bytes.Equal(v.Address, pv.GetAddress()) })
	if idx < 0 {
		t.Fatalf("%s's validator %X is not in height 1's set", nd.name, pv.GetAddress())
	}
	vote := func(name string) *cmttypes.Vote {
		hash, parts := sha256.Sum256([]byte(name)), sha256.Sum256([]byte(name+" parts"))
		v := &cmttypes.Vote{Type: cmtproto.PrevoteType, Height: h, Round: 0, Timestamp: time.Now().UTC(),
			BlockID:          cmttypes.BlockID{Hash: hash[:], PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: parts[:]}},
			ValidatorAddress: pv.GetAddress(), ValidatorIndex: int32(idx)}
		// Signed with the key itself: the FilePV would refuse the second
		// vote and write the running node's last-sign state.
		sig, err := pv.Key.PrivKey.Sign(cmttypes.VoteSignBytes(chainID, v.ToProto()))
		if err != nil {
			t.Fatal(err)
		}
		v.Signature = sig
		return v
	}
	ev, err := cmttypes.NewDuplicateVoteEvidence(vote("block a"), vote("block b"), block.Block.Time, cmttypes.NewValidatorSet(vals.Validators))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// checkBroadcastEvidence: evidence CometBFT's client sends is accepted with
// CometBFT's hash, then committed in a block that CometBFT's client decodes
// from /block to the same evidence; evidence that does not hold together
// is refused with a JSON-RPC error saying so.
func checkBroadcastEvidence(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nw *network) {
	t.Helper()
	ev := signedDuplicateVote(ctx, t, c, nw.nodes[3], nw.chainID)
	res, err := c.BroadcastEvidence(ctx, ev)
	if err != nil {
		t.Fatalf("broadcast_evidence: %v", err)
	}
	if !bytes.Equal(res.Hash, ev.Hash()) {
		t.Fatalf("broadcast_evidence: hash %X, want CometBFT's %X", res.Hash, ev.Hash())
	}
	from, err := nw.height(0)
	if err != nil {
		t.Fatal(err)
	}
	got, block := evidenceBlock(ctx, t, c, nw, from, "the evidence", func(cmttypes.Evidence) bool { return true })
	if !bytes.Equal(got.Hash(), ev.Hash()) || len(block.Evidence.Evidence) != 1 {
		t.Fatalf("block %d holds evidence %v, want only %v", block.Height, block.Evidence.Evidence, ev)
	}

	bad := signedDuplicateVote(ctx, t, c, nw.nodes[2], nw.chainID)
	bad.VoteB.Signature = bytes.Repeat([]byte{1}, 64)
	if _, err := c.BroadcastEvidence(ctx, bad); err == nil || !bytes.Contains([]byte(err.Error()), []byte("signature")) {
		t.Fatalf("broadcast_evidence with a forged signature: %v, want an error about the signature", err)
	}
}
