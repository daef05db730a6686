package types

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
)

// Conversions between the domain types and their protobuf form
// (proto/bftnode/types), the wire and storage format.
//
// A fixed-size value (a hash or an address) is encoded as empty when it is
// all zeros and as its exact bytes otherwise; decoding accepts only those two
// lengths. Signatures are empty or 64 bytes, public keys 32 bytes.
//
// To avoid copying large blocks, converted values share variable-length byte
// slices (transactions, signatures, public keys, app hashes) with their
// source: neither side may modify them afterwards.

// ErrInvalidProto is returned when a protobuf message cannot be a valid
// domain value: a field of the wrong length or an unknown enum value.
var ErrInvalidProto = errors.New("invalid protobuf message")

// BlockPartSizeBytes is the default size of a block part.
const BlockPartSizeBytes = 64 * 1024

// fixedToProto encodes a fixed-size value: nil when all zeros, else a copy.
func fixedToProto(b []byte) []byte {
	for _, c := range b {
		if c != 0 {
			return bytes.Clone(b)
		}
	}
	return nil
}

// fixedFromProto copies src into dst, which must be empty or exactly as long
// as dst (empty leaves dst zero).
func fixedFromProto(dst, src []byte, what string) error {
	if len(src) != 0 && len(src) != len(dst) {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrInvalidProto, what, len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

// signatureFromProto checks that sig is empty or an Ed25519 signature.
func signatureFromProto(sig []byte, what string) ([]byte, error) {
	switch len(sig) {
	case 0:
		return nil, nil
	case ed25519.SignatureSize:
		return sig, nil
	}
	return nil, fmt.Errorf("%w: %s signature is %d bytes, want %d or 0", ErrInvalidProto, what, len(sig), ed25519.SignatureSize)
}

// ToProto converts the part set header.
func (p PartSetHeader) ToProto() typespb.PartSetHeader {
	return typespb.PartSetHeader{Total: p.Total, Hash: fixedToProto(p.Hash[:])}
}

// PartSetHeaderFromProto converts and checks a part set header.
func PartSetHeaderFromProto(pb *typespb.PartSetHeader) (PartSetHeader, error) {
	p := PartSetHeader{Total: pb.Total}
	err := fixedFromProto(p.Hash[:], pb.Hash, "part set hash")
	return p, err
}

// ToProto converts the block ID.
func (id BlockID) ToProto() typespb.BlockID {
	return typespb.BlockID{Hash: fixedToProto(id.Hash[:]), PartSetHeader: id.PartSetHeader.ToProto()}
}

// BlockIDFromProto converts and checks a block ID.
func BlockIDFromProto(pb *typespb.BlockID) (BlockID, error) {
	var id BlockID
	if err := fixedFromProto(id.Hash[:], pb.Hash, "block hash"); err != nil {
		return BlockID{}, err
	}
	psh, err := PartSetHeaderFromProto(&pb.PartSetHeader)
	if err != nil {
		return BlockID{}, err
	}
	id.PartSetHeader = psh
	return id, nil
}

// ToProto converts the header.
func (h *Header) ToProto() *typespb.Header {
	return &typespb.Header{
		Version:            typespb.ConsensusVersion{Block: h.Version.Block, App: h.Version.App},
		ChainID:            h.ChainID,
		Height:             h.Height,
		Time:               h.Time,
		LastBlockID:        h.LastBlockID.ToProto(),
		LastCommitHash:     fixedToProto(h.LastCommitHash[:]),
		DataHash:           fixedToProto(h.DataHash[:]),
		ValidatorsHash:     fixedToProto(h.ValidatorsHash[:]),
		NextValidatorsHash: fixedToProto(h.NextValidatorsHash[:]),
		ConsensusHash:      fixedToProto(h.ConsensusHash[:]),
		AppHash:            h.AppHash,
		LastResultsHash:    fixedToProto(h.LastResultsHash[:]),
		EvidenceHash:       fixedToProto(h.EvidenceHash[:]),
		ProposerAddress:    fixedToProto(h.ProposerAddress[:]),
	}
}

// HeaderFromProto converts and checks a header.
func HeaderFromProto(pb *typespb.Header) (*Header, error) {
	lastBlockID, err := BlockIDFromProto(&pb.LastBlockID)
	if err != nil {
		return nil, fmt.Errorf("last block ID: %w", err)
	}
	h := &Header{
		Version:     Version{Block: pb.Version.Block, App: pb.Version.App},
		ChainID:     pb.ChainID,
		Height:      pb.Height,
		Time:        pb.Time,
		LastBlockID: lastBlockID,
		AppHash:     pb.AppHash,
	}
	for _, f := range []struct {
		dst  []byte
		src  []byte
		what string
	}{
		{h.LastCommitHash[:], pb.LastCommitHash, "last commit hash"},
		{h.DataHash[:], pb.DataHash, "data hash"},
		{h.ValidatorsHash[:], pb.ValidatorsHash, "validators hash"},
		{h.NextValidatorsHash[:], pb.NextValidatorsHash, "next validators hash"},
		{h.ConsensusHash[:], pb.ConsensusHash, "consensus hash"},
		{h.LastResultsHash[:], pb.LastResultsHash, "last results hash"},
		{h.EvidenceHash[:], pb.EvidenceHash, "evidence hash"},
		{h.ProposerAddress[:], pb.ProposerAddress, "proposer address"},
	} {
		if err := fixedFromProto(f.dst, f.src, f.what); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// ToProto converts the commit; a nil commit gives nil.
func (c *Commit) ToProto() *typespb.Commit {
	if c == nil {
		return nil
	}
	pb := &typespb.Commit{
		Height:     c.Height,
		Round:      c.Round,
		BlockID:    c.BlockID.ToProto(),
		Signatures: make([]typespb.CommitSig, len(c.Signatures)),
	}
	for i, s := range c.Signatures {
		pb.Signatures[i] = typespb.CommitSig{
			BlockIDFlag:      typespb.BlockIDFlag(s.Flag),
			ValidatorAddress: fixedToProto(s.ValidatorAddress[:]),
			Timestamp:        s.Timestamp,
			Signature:        s.Signature,
		}
	}
	return pb
}

// CommitFromProto converts and checks a commit.
func CommitFromProto(pb *typespb.Commit) (*Commit, error) {
	if pb == nil {
		return nil, fmt.Errorf("%w: nil commit", ErrInvalidProto)
	}
	blockID, err := BlockIDFromProto(&pb.BlockID)
	if err != nil {
		return nil, fmt.Errorf("commit block ID: %w", err)
	}
	c := &Commit{Height: pb.Height, Round: pb.Round, BlockID: blockID, Signatures: make([]CommitSig, len(pb.Signatures))}
	for i := range pb.Signatures {
		s := &pb.Signatures[i]
		switch s.BlockIDFlag {
		case typespb.BlockIDFlagAbsent, typespb.BlockIDFlagCommit, typespb.BlockIDFlagNil:
		default:
			return nil, fmt.Errorf("%w: commit signature %d has flag %d", ErrInvalidProto, i, s.BlockIDFlag)
		}
		cs := CommitSig{Flag: BlockIDFlag(s.BlockIDFlag), Timestamp: s.Timestamp}
		if err := fixedFromProto(cs.ValidatorAddress[:], s.ValidatorAddress, "commit validator address"); err != nil {
			return nil, err
		}
		if cs.Signature, err = signatureFromProto(s.Signature, "commit"); err != nil {
			return nil, err
		}
		c.Signatures[i] = cs
	}
	return c, nil
}

// ToProto converts the vote.
func (v *Vote) ToProto() *typespb.Vote {
	return &typespb.Vote{
		Type:               typespb.SignedMsgType(v.Type),
		Height:             v.Height,
		Round:              v.Round,
		BlockID:            v.BlockID.ToProto(),
		Timestamp:          v.Timestamp,
		ValidatorAddress:   fixedToProto(v.ValidatorAddress[:]),
		ValidatorIndex:     v.ValidatorIndex,
		Signature:          v.Signature,
		Extension:          v.Extension,
		ExtensionSignature: v.ExtensionSignature,
	}
}

// VoteFromProto converts and checks a vote; its type must be prevote or
// precommit.
func VoteFromProto(pb *typespb.Vote) (*Vote, error) {
	if pb.Type != typespb.PrevoteType && pb.Type != typespb.PrecommitType {
		return nil, fmt.Errorf("%w: vote type %d", ErrInvalidProto, pb.Type)
	}
	blockID, err := BlockIDFromProto(&pb.BlockID)
	if err != nil {
		return nil, fmt.Errorf("vote block ID: %w", err)
	}
	v := &Vote{
		Type:           SignedMsgType(pb.Type),
		Height:         pb.Height,
		Round:          pb.Round,
		BlockID:        blockID,
		Timestamp:      pb.Timestamp,
		ValidatorIndex: pb.ValidatorIndex,
		Extension:      pb.Extension,
	}
	if err := fixedFromProto(v.ValidatorAddress[:], pb.ValidatorAddress, "vote validator address"); err != nil {
		return nil, err
	}
	if v.Signature, err = signatureFromProto(pb.Signature, "vote"); err != nil {
		return nil, err
	}
	if v.ExtensionSignature, err = signatureFromProto(pb.ExtensionSignature, "vote extension"); err != nil {
		return nil, err
	}
	return v, nil
}

// ToProto converts the proposal.
func (p *Proposal) ToProto() *typespb.Proposal {
	return &typespb.Proposal{
		Height:    p.Height,
		Round:     p.Round,
		POLRound:  p.POLRound,
		BlockID:   p.BlockID.ToProto(),
		Timestamp: p.Timestamp,
		Signature: p.Signature,
	}
}

// ProposalFromProto converts and checks a proposal.
func ProposalFromProto(pb *typespb.Proposal) (*Proposal, error) {
	blockID, err := BlockIDFromProto(&pb.BlockID)
	if err != nil {
		return nil, fmt.Errorf("proposal block ID: %w", err)
	}
	p := &Proposal{Height: pb.Height, Round: pb.Round, POLRound: pb.POLRound, BlockID: blockID, Timestamp: pb.Timestamp}
	if p.Signature, err = signatureFromProto(pb.Signature, "proposal"); err != nil {
		return nil, err
	}
	return p, nil
}

// ToProto converts the validator, priority included.
func (v *Validator) ToProto() typespb.Validator {
	return typespb.Validator{
		Address:          fixedToProto(v.Address[:]),
		PubKey:           v.PubKey,
		VotingPower:      v.VotingPower,
		ProposerPriority: v.ProposerPriority,
	}
}

// ValidatorFromProto converts and checks a validator: a 32-byte public key
// whose address is the one given.
func ValidatorFromProto(pb *typespb.Validator) (*Validator, error) {
	if len(pb.PubKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: validator public key is %d bytes, want %d", ErrInvalidProto, len(pb.PubKey), ed25519.PublicKeySize)
	}
	v := &Validator{PubKey: ed25519.PublicKey(pb.PubKey), VotingPower: pb.VotingPower, ProposerPriority: pb.ProposerPriority}
	if err := fixedFromProto(v.Address[:], pb.Address, "validator address"); err != nil {
		return nil, err
	}
	if v.Address != AddressOf(v.PubKey) {
		return nil, fmt.Errorf("%w: validator address %X does not match its public key", ErrInvalidProto, v.Address[:6])
	}
	return v, nil
}

// ToProto converts the set with its proposer-selection state (priorities
// and proposer).
func (vs *ValidatorSet) ToProto() *typespb.ValidatorSet {
	pb := &typespb.ValidatorSet{Validators: make([]typespb.Validator, len(vs.Validators))}
	for i, v := range vs.Validators {
		pb.Validators[i] = v.ToProto()
	}
	if vs.proposer != nil {
		pb.ProposerAddress = fixedToProto(vs.proposer.Address[:])
	}
	return pb
}

// ValidatorSetFromProto converts and checks a validator set. The validators
// must be valid, in canonical order, and include the proposer, so the set
// resumes proposer selection exactly where it was saved.
func ValidatorSetFromProto(pb *typespb.ValidatorSet) (*ValidatorSet, error) {
	vs := &ValidatorSet{Validators: make([]*Validator, len(pb.Validators))}
	for i := range pb.Validators {
		v, err := ValidatorFromProto(&pb.Validators[i])
		if err != nil {
			return nil, fmt.Errorf("validator %d: %w", i, err)
		}
		vs.Validators[i] = v
	}
	given := append([]*Validator(nil), vs.Validators...)
	if err := vs.checkAndSort(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProto, err)
	}
	for i, v := range vs.Validators {
		if v != given[i] {
			return nil, fmt.Errorf("%w: validators not in canonical order at index %d", ErrInvalidProto, i)
		}
	}
	var proposer Address
	if err := fixedFromProto(proposer[:], pb.ProposerAddress, "proposer address"); err != nil {
		return nil, err
	}
	if _, vs.proposer = vs.ByAddress(proposer); vs.proposer == nil {
		return nil, fmt.Errorf("%w: proposer %X is not in the set", ErrInvalidProto, proposer[:6])
	}
	return vs, nil
}

// ToProto converts the block. The proto shares the transactions with b. A
// nil last commit becomes the empty commit, as CometBFT's first block has.
func (b *Block) ToProto() *typespb.Block {
	lastCommit := b.LastCommit.ToProto()
	if lastCommit == nil {
		lastCommit = &typespb.Commit{}
	}
	var evidence typespb.EvidenceList
	for _, ev := range b.Evidence {
		evidence.Evidence = append(evidence.Evidence, EncodeEvidence(ev))
	}
	return &typespb.Block{
		Header:     *b.Header.ToProto(),
		Data:       typespb.Data{Txs: b.Data.Txs},
		Evidence:   evidence,
		LastCommit: lastCommit,
	}
}

// BlockFromProto converts and checks a block's encoding (field lengths,
// enums, and each evidence's decoding and ValidateBasic). It does not validate the block itself: see
// Block.ValidateBasic. An absent or empty last commit becomes nil.
func BlockFromProto(pb *typespb.Block) (*Block, error) {
	h, err := HeaderFromProto(&pb.Header)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	b := &Block{Header: *h, Data: Data{Txs: pb.Data.Txs}}
	for i, bz := range pb.Evidence.Evidence {
		ev, err := DecodeEvidence(bz)
		if err != nil {
			return nil, fmt.Errorf("evidence %d: %w", i, err)
		}
		b.Evidence = append(b.Evidence, ev)
	}
	if c := pb.LastCommit; c != nil && !isEmptyCommit(c) {
		if b.LastCommit, err = CommitFromProto(c); err != nil {
			return nil, fmt.Errorf("last commit: %w", err)
		}
	}
	return b, nil
}

// isEmptyCommit reports whether c is the empty commit (all fields zero).
func isEmptyCommit(c *typespb.Commit) bool {
	return c.Height == 0 && c.Round == 0 && len(c.Signatures) == 0 &&
		len(c.BlockID.Hash) == 0 && c.BlockID.PartSetHeader.Total == 0 && len(c.BlockID.PartSetHeader.Hash) == 0
}

// BlockParts marshals block and splits the bytes into parts of partSize
// bytes (the last may be shorter; BlockPartSizeBytes when partSize <= 0).
// The part set header's hash is the Merkle root over the parts.
func BlockParts(block *Block, partSize int) ([][]byte, PartSetHeader, error) {
	if partSize <= 0 {
		partSize = BlockPartSizeBytes
	}
	bz, err := block.ToProto().Marshal()
	if err != nil {
		return nil, PartSetHeader{}, fmt.Errorf("marshal block at height %d: %w", block.Header.Height, err)
	}
	parts := make([][]byte, 0, (len(bz)+partSize-1)/partSize)
	for len(bz) > 0 {
		n := min(partSize, len(bz))
		parts = append(parts, bz[:n:n])
		bz = bz[n:]
	}
	return parts, PartSetHeader{Total: uint32(len(parts)), Hash: MerkleRoot(parts)}, nil
}

// MakeBlockID returns the ID of block: its header hash and the header of its
// part set in parts of BlockPartSizeBytes.
func MakeBlockID(block *Block) (BlockID, error) {
	_, psh, err := BlockParts(block, BlockPartSizeBytes)
	if err != nil {
		return BlockID{}, err
	}
	return BlockID{Hash: block.Hash(), PartSetHeader: psh}, nil
}
