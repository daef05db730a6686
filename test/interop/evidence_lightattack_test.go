package interop

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto"
	cmtevidence "github.com/cometbft/cometbft/evidence"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
)

// signedHeaderAt is the signed header /commit serves for h, with its
// canonical commit (h must be below the latest height).
func signedHeaderAt(ctx context.Context, t *testing.T, c *rpchttp.HTTP, h int64) *cmttypes.SignedHeader {
	t.Helper()
	res, err := c.Commit(ctx, &h)
	if err != nil {
		t.Fatalf("commit %d: CometBFT's client: %v", h, err)
	}
	if !res.CanonicalCommit {
		t.Fatalf("commit %d is not canonical yet", h)
	}
	return &res.SignedHeader
}

// lunaticEvidence is a light client attack built and signed with
// CometBFT's code: nodes' validators sign, at height conflict, a block
// with another app hash and a validator set of only themselves, after
// the chain's block at common. CometBFT's own VerifyLightClientAttack
// must accept it against the chain.
func lunaticEvidence(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nw *network, common, conflict int64, nodes ...int) *cmttypes.LightClientAttackEvidence {
	t.Helper()
	commonSH, trustedSH := signedHeaderAt(ctx, t, c, common), signedHeaderAt(ctx, t, c, conflict)
	commonVals := validatorsAt(ctx, t, c, common)
	var keys []*cmttypes.Validator
	privs := map[string]crypto.PrivKey{}
	for _, i := range nodes {
		pv := cometLoadFilePV(t, nw.nodes[i].home, false)
		_, v := commonVals.GetByAddress(pv.GetAddress())
		if v == nil {
			t.Fatalf("%s is not a validator at height %d", nw.nodes[i].name, common)
		}
		keys = append(keys, cmttypes.NewValidator(pv.Key.PubKey, v.VotingPower))
		privs[string(pv.GetAddress())] = pv.Key.PrivKey
	}
	vals := cmttypes.NewValidatorSet(keys)
	hdr := *trustedSH.Header
	hdr.AppHash, hdr.ValidatorsHash = sum("lunatic app state"), vals.Hash()
	id := cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: sum("lunatic parts")}}
	commit := &cmttypes.Commit{Height: conflict, Round: 0, BlockID: id}
	for i, v := range vals.Validators {
		vote := &cmttypes.Vote{Type: cmtproto.PrecommitType, Height: conflict, Round: 0, BlockID: id, Timestamp: hdr.Time.Add(time.Second),
			ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		sig, err := privs[string(v.Address)].Sign(cmttypes.VoteSignBytes(nw.chainID, vote.ToProto()))
		if err != nil {
			t.Fatal(err)
		}
		commit.Signatures = append(commit.Signatures, cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: vote.Timestamp, Signature: sig})
	}
	ev := &cmttypes.LightClientAttackEvidence{
		ConflictingBlock: &cmttypes.LightBlock{SignedHeader: &cmttypes.SignedHeader{Header: &hdr, Commit: commit}, ValidatorSet: vals},
		CommonHeight:     common, TotalVotingPower: commonVals.TotalVotingPower(), Timestamp: commonSH.Time,
	}
	ev.ByzantineValidators = ev.GetByzantineValidators(commonVals, trustedSH)
	if err := ev.ValidateBasic(); err != nil {
		t.Fatalf("CometBFT's ValidateBasic refuses the attack built for the test: %v", err)
	}
	if err := cmtevidence.VerifyLightClientAttack(ev, commonSH, trustedSH, commonVals, time.Now(), time.Hour); err != nil {
		t.Fatalf("CometBFT's VerifyLightClientAttack refuses the attack built for the test: %v", err)
	}
	if len(ev.ByzantineValidators) != len(nodes) {
		t.Fatalf("CometBFT accuses %d validators, want the %d signers", len(ev.ByzantineValidators), len(nodes))
	}
	return ev
}

// evidenceBlock polls nw's blocks (through c, a client of node 0) from
// height from on for the first evidence that match accepts, and returns
// it with its block.
func evidenceBlock(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nw *network, from int64, what string, match func(cmttypes.Evidence) bool) (cmttypes.Evidence, *cmttypes.Block) {
	t.Helper()
	var found cmttypes.Evidence
	var block *cmttypes.Block
	poll(t, what+" in a block", 2*time.Minute, func() (bool, error) {
		top, err := nw.height(0)
		if err != nil {
			return false, err
		}
		for ; from <= top; from++ {
			h := from
			b, err := c.Block(ctx, &h)
			if err != nil {
				return false, err
			}
			for _, ev := range b.Block.Evidence.Evidence {
				if match(ev) {
					found, block = ev, b.Block
					return true, nil
				}
			}
		}
		return false, nil
	})
	return found, block
}

// checkMisbehaviorReached: every node's application (the kvstore) got a
// LIGHT_CLIENT_ATTACK Misbehavior for each accused validator in the
// FinalizeBlock of height h, as the "misbehavior" events of its results
// say.
func checkMisbehaviorReached(ctx context.Context, t *testing.T, nw *network, h int64, accused []*cmttypes.Validator) {
	t.Helper()
	for _, nd := range nw.nodes {
		c, _ := cometClient(t, nd)
		var res *struct{ events []string }
		poll(t, fmt.Sprintf("%s's results of height %d", nd.name, h), time.Minute, func() (bool, error) {
			r, err := c.BlockResults(ctx, &h)
			if err != nil {
				return false, nil // not there yet
			}
			res = &struct{ events []string }{}
			for _, ev := range r.FinalizeBlockEvents {
				if ev.Type != "misbehavior" {
					continue
				}
				var typ, val string
				for _, a := range ev.Attributes {
					switch a.Key {
					case "type":
						typ = a.Value
					case "validator":
						val = a.Value
					}
				}
				res.events = append(res.events, typ+" "+strings.ToUpper(val))
			}
			return true, nil
		})
		for _, v := range accused {
			if want := "LIGHT_CLIENT_ATTACK " + strings.ToUpper(hex.EncodeToString(v.Address)); !slices.Contains(res.events, want) {
				t.Errorf("%s: the app's misbehavior events at height %d are %v, want %q", nd.name, h, res.events, want)
			}
		}
		if len(res.events) != len(accused) {
			t.Errorf("%s: %d misbehavior events at height %d, want %d", nd.name, len(res.events), h, len(accused))
		}
	}
}

// TestCometBFTLightClientAttackAccepted: a lunatic attack built and signed
// by CometBFT's code (nodes 2 and 3 sign a block with another state) is
// accepted by bftnode's broadcast_evidence with CometBFT's hash, committed
// in a block that CometBFT's client decodes and verifies, and reaches every
// node's application as one LIGHT_CLIENT_ATTACK Misbehavior per accused
// validator, which the kvstore punishes by removing both. Forms CometBFT
// would refuse are refused with a JSON-RPC error saying why.
func TestCometBFTLightClientAttackAccepted(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	c, _ := cometClient(t, nw.nodes[0])
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	nw.waitHeight(5, 2*time.Minute)
	ev := lunaticEvidence(ctx, t, c, nw, 2, 4, 2, 3)

	bad := *ev
	bad.TotalVotingPower++
	badByz := *ev
	badByz.ByzantineValidators = ev.ByzantineValidators[:1]
	for name, tc := range map[string]struct {
		ev   *cmttypes.LightClientAttackEvidence
		want string
	}{"wrong total power": {&bad, "total voting power"}, "an accused validator left out": {&badByz, "accused (byzantine_validators)"}} {
		if _, err := c.BroadcastEvidence(ctx, tc.ev); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("broadcast_evidence with %s: %v, want an error about the %s", name, err, tc.want)
		}
	}

	from, err := nw.height(0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.BroadcastEvidence(ctx, ev)
	if err != nil {
		t.Fatalf("broadcast_evidence of CometBFT's light client attack: %v", err)
	}
	if !bytes.Equal(res.Hash, ev.Hash()) {
		t.Fatalf("broadcast_evidence: hash %X, want CometBFT's %X", res.Hash, ev.Hash())
	}
	got, block := evidenceBlock(ctx, t, c, nw, from, "the light client attack", func(e cmttypes.Evidence) bool { return bytes.Equal(e.Hash(), ev.Hash()) })
	if err := block.ValidateBasic(); err != nil {
		t.Fatalf("block %d with the attack: CometBFT's ValidateBasic: %v", block.Height, err)
	}
	if !bytes.Equal(got.Bytes(), ev.Bytes()) {
		t.Errorf("block %d holds the attack as %X, CometBFT's is %X", block.Height, got.Bytes(), ev.Bytes())
	}
	checkMisbehaviorReached(ctx, t, nw, block.Height, ev.ByzantineValidators)

	// The kvstore removed both: from two heights on, the set is nodes 0
	// and 1, which go on committing.
	nw.waitHeight(block.Height+3, time.Minute)
	after := validatorsAt(ctx, t, c, block.Height+2)
	for _, v := range ev.ByzantineValidators {
		if _, still := after.GetByAddress(v.Address); still != nil {
			t.Errorf("validator %X is still in the set at height %d", v.Address, block.Height+2)
		}
	}
	if after.Size() != 2 {
		t.Errorf("%d validators at height %d, want the 2 not accused", after.Size(), block.Height+2)
	}
}

// TestLightCmdReportsAttackToBothNetworks: two bftnode networks with the
// same genesis and validator keys agree on block 1 and then part; a
// transaction only network b executes makes their app states differ, so
// each one's later blocks are lunatic attacks on the other. `bftnode
// light` trusting block 1, with a primary on a and a witness on b, stops
// on the conflict and reports the evidence against each network to the
// other (broadcast_evidence). Each network commits the evidence against
// the other; CometBFT's types decode it from /block and CometBFT's
// VerifyLightClientAttack accepts it against the receiving chain, and every
// node's application gets the Misbehavior.
func TestLightCmdReportsAttackToBothNetworks(t *testing.T) {
	a := newNetwork(t, 4, netOptions{})
	b := twinNetwork(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ca, _ := cometClient(t, a.nodes[0])
	cb, _ := cometClient(t, b.nodes[0])
	a.waitHeight(2, 2*time.Minute)
	b.waitHeight(2, 2*time.Minute)
	hash1 := blockHash(t, a.nodes[0].RPC(), 1)
	if other := blockHash(t, b.nodes[0].RPC(), 1); other != hash1 {
		t.Fatalf("the networks decided different blocks at height 1 (%s, %s): no common block to trust", hash1, other)
	}
	if res, err := cb.BroadcastTxCommit(ctx, cmttypes.Tx("only-on-b=1")); err != nil || res.TxResult.Code != 0 {
		t.Fatalf("tx on network b: %v %+v", err, res)
	}
	fromA, err := a.height(0)
	if err != nil {
		t.Fatal(err)
	}
	fromB, err := b.height(0)
	if err != nil {
		t.Fatal(err)
	}
	lp := startLight(t, "light", bftnodeBin, "light", a.chainID, "--primary", a.nodes[0].RPC(),
		"--witnesses", b.nodes[1].RPC(), "--height", "1", "--hash", hash1, "--home-dir", t.TempDir())
	log, err := lp.waitExit(t, 2*time.Minute)
	if err == nil || !strings.Contains(log, "conflicting headers") {
		t.Fatalf("bftnode light: exit %v, want it to stop on the conflict", err)
	}
	for _, side := range []struct {
		name string
		nw   *network
		c    *rpchttp.HTTP
		from int64
	}{{"network a (the primary)", a, ca, fromA}, {"network b (the witness)", b, cb, fromB}} {
		found, block := evidenceBlock(ctx, t, side.c, side.nw, side.from, side.name+": the evidence reported by the light client", func(e cmttypes.Evidence) bool {
			_, ok := e.(*cmttypes.LightClientAttackEvidence)
			return ok
		})
		ev := found.(*cmttypes.LightClientAttackEvidence)
		if err := block.ValidateBasic(); err != nil {
			t.Fatalf("%s: block %d: CometBFT's ValidateBasic: %v", side.name, block.Height, err)
		}
		if err := ev.ValidateBasic(); err != nil {
			t.Fatalf("%s: CometBFT's ValidateBasic of the evidence: %v", side.name, err)
		}
		conflict := ev.ConflictingBlock.Height
		t.Logf("%s: block %d holds the light client's evidence: conflicting block %d, common height %d, %d accused", side.name, block.Height, conflict, ev.CommonHeight, len(ev.ByzantineValidators))
		commonSH, trustedSH := signedHeaderAt(ctx, t, side.c, ev.CommonHeight), signedHeaderAt(ctx, t, side.c, conflict)
		if err := cmtevidence.VerifyLightClientAttack(ev, commonSH, trustedSH, validatorsAt(ctx, t, side.c, ev.CommonHeight), time.Now(), time.Hour); err != nil {
			t.Errorf("%s: CometBFT's VerifyLightClientAttack refuses the light client's evidence (common height %d, conflicting %d): %v", side.name, ev.CommonHeight, conflict, err)
		}
		if bytes.Equal(ev.ConflictingBlock.AppHash, trustedSH.AppHash) || len(ev.ByzantineValidators) == 0 {
			t.Errorf("%s: evidence %v, want a lunatic block (another app hash) with its signers accused", side.name, ev)
		}
		checkMisbehaviorReached(ctx, t, side.nw, block.Height, ev.ByzantineValidators)
	}
}
