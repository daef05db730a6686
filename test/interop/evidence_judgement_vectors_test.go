package interop

import (
	"testing"
	"time"

	cmtevidence "github.com/cometbft/cometbft/evidence"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
)

// judgementVector is a light client attack judged by CometBFT's code
// against a chain whose validators are the vectors' set at every height:
// the chain's signed headers at the common height and at the conflicting
// block's (tendermint.types.SignedHeader encodings), and the evidence whose
// byzantine validators CometBFT's GetByzantineValidators chose and which
// its VerifyLightClientAttack accepts.
type judgementVector struct {
	Name     string   `json:"name"`
	Common   hexBytes `json:"common_signed_header"`
	Trusted  hexBytes `json:"trusted_signed_header"`
	Evidence hexBytes `json:"evidence"`
}

// judgementHeader is a header of the test chain at height; app and data
// tell the chain's block from a conflicting one.
func judgementHeader(vals *cmttypes.ValidatorSet, height int64, app, data string) *cmttypes.Header {
	return &cmttypes.Header{Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: evidenceChainID, Height: height,
		Time:           sampleTimes()[2].Add(time.Duration(height) * time.Second),
		LastBlockID:    cmttypes.BlockID{Hash: sum("last"), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: sum("last-parts")}},
		LastCommitHash: sum("last-commit"), DataHash: sum(data), ValidatorsHash: vals.Hash(), NextValidatorsHash: evidenceValSet().Hash(),
		ConsensusHash: sum("params"), AppHash: sum(app), LastResultsHash: sum("results"), EvidenceHash: sum("evidence"),
		ProposerAddress: vals.Proposer.Address}
}

// judgementCommit is a commit of round for h by the validators of vals at
// the signers' indexes, the others absent.
func judgementCommit(t *testing.T, vals *cmttypes.ValidatorSet, h *cmttypes.Header, round int32, signers ...int32) *cmttypes.Commit {
	id := blockIDVector{Hash: hexBytes(h.Hash()), PartsTotal: 1, PartsHash: sum("parts")}
	bid, err := cmttypes.BlockIDFromProto(ptr(id.proto()))
	if err != nil {
		t.Fatal(err)
	}
	c := &cmttypes.Commit{Height: h.Height, Round: round, BlockID: *bid}
	for range vals.Validators {
		c.Signatures = append(c.Signatures, cmttypes.NewCommitSigAbsent())
	}
	for _, i := range signers {
		v := signedVote(t, vals, i, cmtproto.PrecommitType, h.Height, round, id, h.Time.Add(time.Second))
		c.Signatures[i] = cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: v.ValidatorAddress, Timestamp: v.Timestamp, Signature: v.Signature}
	}
	return c
}

func judgementVectors(t *testing.T, vals *cmttypes.ValidatorSet) []judgementVector {
	signed := func(h *cmttypes.Header, set *cmttypes.ValidatorSet, round int32, signers ...int32) *cmttypes.SignedHeader {
		return &cmttypes.SignedHeader{Header: h, Commit: judgementCommit(t, set, h, round, signers...)}
	}
	common := signed(judgementHeader(vals, 5, "app", "txs 5"), vals, 0, 0, 1, 2, 3)
	// The chain's block 9 was committed in round 0 by all but validator 3.
	trusted := signed(judgementHeader(vals, 9, "app", "txs 9"), vals, 0, 0, 1, 2)
	// The lunatic block's set is validators 1 and 2 alone (50 of 100).
	pair := cmttypes.NewValidatorSet([]*cmttypes.Validator{vals.Validators[1].Copy(), vals.Validators[2].Copy()})
	cases := []struct {
		name        string
		conflicting *cmttypes.SignedHeader
		set         *cmttypes.ValidatorSet
		common      *cmttypes.SignedHeader
	}{
		// Validators 0 (40), 1 (30) and 3 (10) sign other txs in round 0:
		// 0 and 1 signed both blocks.
		{"equivocation", signed(judgementHeader(vals, 9, "app", "other txs"), vals, 0, 0, 1, 3), vals, trusted},
		// The same in round 1: no one provably signed twice.
		{"amnesia", signed(judgementHeader(vals, 9, "app", "other txs"), vals, 1, 0, 1, 3), vals, trusted},
		{"lunatic", signed(judgementHeader(pair, 9, "lunatic", "txs 9"), pair, 0, 0, 1), pair, common},
	}
	var out []judgementVector
	for _, c := range cases {
		ev := &cmttypes.LightClientAttackEvidence{
			ConflictingBlock: &cmttypes.LightBlock{SignedHeader: c.conflicting, ValidatorSet: c.set},
			CommonHeight:     c.common.Height, TotalVotingPower: vals.TotalVotingPower(), Timestamp: c.common.Time,
		}
		ev.ByzantineValidators = ev.GetByzantineValidators(vals, trusted)
		if err := cmtevidence.VerifyLightClientAttack(ev, c.common, trusted, vals, time.Now(), time.Hour); err != nil {
			t.Fatalf("%s: CometBFT refuses it: %v", c.name, err)
		}
		out = append(out, judgementVector{Name: c.name, Common: marshalSH(t, c.common), Trusted: marshalSH(t, trusted), Evidence: outputsOf(t, ev).Evidence})
	}
	return out
}

func marshalSH(t *testing.T, sh *cmttypes.SignedHeader) hexBytes {
	b, err := sh.ToProto().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
