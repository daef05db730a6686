package rpc

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// Reading light client attack evidence from CometBFT's JSON (the shape
// evidence_view.go writes).

func lightClientAttackFromJSON(raw json.RawMessage) (*types.LightClientAttackEvidence, error) {
	var v lightClientAttackView
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("light client attack evidence: %v", err)
	}
	if v.ConflictingBlock == nil || v.ConflictingBlock.SignedHeader.Header == nil || v.ConflictingBlock.SignedHeader.Commit == nil || v.ConflictingBlock.ValidatorSet == nil {
		return nil, fmt.Errorf("light client attack evidence needs ConflictingBlock with signed_header.header, signed_header.commit and validator_set")
	}
	lb := v.ConflictingBlock
	hdr, err := lb.SignedHeader.Header.header()
	if err != nil {
		return nil, fmt.Errorf("ConflictingBlock.signed_header.header: %w", err)
	}
	commit, err := lb.SignedHeader.Commit.commit()
	if err != nil {
		return nil, fmt.Errorf("ConflictingBlock.signed_header.commit: %w", err)
	}
	vals, err := lb.ValidatorSet.validatorSet()
	if err != nil {
		return nil, fmt.Errorf("ConflictingBlock.validator_set: %w", err)
	}
	ev := &types.LightClientAttackEvidence{
		ConflictingBlock: &types.LightBlock{SignedHeader: types.SignedHeader{Header: hdr, Commit: commit}, ValidatorSet: vals},
		CommonHeight:     int64(v.CommonHeight), TotalVotingPower: int64(v.TotalVotingPower), Timestamp: time.Time(v.Timestamp),
	}
	for i := range v.ByzantineValidators {
		val, err := v.ByzantineValidators[i].validator()
		if err != nil {
			return nil, fmt.Errorf("ByzantineValidators[%d]: %w", i, err)
		}
		ev.ByzantineValidators = append(ev.ByzantineValidators, val)
	}
	return ev, nil
}

func (v *headerView) header() (*types.Header, error) {
	h := &types.Header{Version: types.Version{Block: uint64(v.Version.Block), App: uint64(v.Version.App)},
		ChainID: v.ChainID, Height: int64(v.Height), Time: time.Time(v.Time), AppHash: v.AppHash}
	var err error
	if h.LastBlockID, err = v.LastBlockID.blockID("last_block_id"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		dst  []byte
		src  hexBytes
		name string
	}{
		{h.LastCommitHash[:], v.LastCommitHash, "last_commit_hash"},
		{h.DataHash[:], v.DataHash, "data_hash"},
		{h.ValidatorsHash[:], v.ValidatorsHash, "validators_hash"},
		{h.NextValidatorsHash[:], v.NextValidatorsHash, "next_validators_hash"},
		{h.ConsensusHash[:], v.ConsensusHash, "consensus_hash"},
		{h.LastResultsHash[:], v.LastResultsHash, "last_results_hash"},
		{h.EvidenceHash[:], v.EvidenceHash, "evidence_hash"},
		{h.ProposerAddress[:], v.ProposerAddress, "proposer_address"},
	} {
		if err := fixed(f.dst, f.src, f.name); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (v *blockIDView) blockID(what string) (types.BlockID, error) {
	id := types.BlockID{PartSetHeader: types.PartSetHeader{Total: v.Parts.Total}}
	if err := fixed(id.Hash[:], v.Hash, what+".hash"); err != nil {
		return id, err
	}
	return id, fixed(id.PartSetHeader.Hash[:], v.Parts.Hash, what+".parts.hash")
}

func (v *commitView) commit() (*types.Commit, error) {
	c := &types.Commit{Height: int64(v.Height), Round: v.Round, Signatures: make([]types.CommitSig, len(v.Signatures))}
	var err error
	if c.BlockID, err = v.BlockID.blockID("block_id"); err != nil {
		return nil, err
	}
	for i, s := range v.Signatures {
		c.Signatures[i] = types.CommitSig{Flag: types.BlockIDFlag(s.BlockIDFlag), Timestamp: time.Time(s.Timestamp), Signature: s.Signature}
		if err := fixed(c.Signatures[i].ValidatorAddress[:], s.ValidatorAddress, fmt.Sprintf("signatures[%d].validator_address", i)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// validator reads a validator with an Ed25519 key whose address, if
// given, must be the key's.
func (v *validatorView) validator() (*types.Validator, error) {
	if v.PubKey == nil || v.PubKey.Type != ed25519PubKeyType || len(v.PubKey.Value) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("validator %X: pub_key must be a %s of %d bytes", []byte(v.Address), ed25519PubKeyType, ed25519.PublicKeySize)
	}
	val := types.NewValidator(ed25519.PublicKey(v.PubKey.Value), int64(v.VotingPower))
	val.ProposerPriority = int64(v.ProposerPriority)
	if len(v.Address) != 0 && string(v.Address) != string(val.Address[:]) {
		return nil, fmt.Errorf("validator %X: the address is not its public key's (%X)", []byte(v.Address), val.Address)
	}
	return val, nil
}

// validatorSet reads a set with its proposer priorities and proposer, in
// the order the chain keeps it (by voting power), as CometBFT writes it.
func (v *validatorSetView) validatorSet() (*types.ValidatorSet, error) {
	if v.Proposer == nil {
		return nil, fmt.Errorf("no proposer")
	}
	proposer, err := v.Proposer.validator()
	if err != nil {
		return nil, fmt.Errorf("proposer: %w", err)
	}
	pb := &typespb.ValidatorSet{ProposerAddress: proposer.Address[:]}
	for i := range v.Validators {
		val, err := v.Validators[i].validator()
		if err != nil {
			return nil, fmt.Errorf("validators[%d]: %w", i, err)
		}
		pb.Validators = append(pb.Validators, val.ToProto())
	}
	return types.ValidatorSetFromProto(pb)
}
