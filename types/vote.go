package types

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// SignedMsgType is the type of a signed consensus message; it is part of the
// sign bytes, so a prevote signature can never pass as a precommit.
type SignedMsgType uint8

// Signed message types (numbers as in Tendermint).
const (
	PrevoteType   SignedMsgType = 1
	PrecommitType SignedMsgType = 2
	ProposalType  SignedMsgType = 32
)

func (t SignedMsgType) String() string {
	switch t {
	case PrevoteType:
		return "prevote"
	case PrecommitType:
		return "precommit"
	case ProposalType:
		return "proposal"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Address identifies a validator: the first 20 bytes of the SHA-256 of its
// Ed25519 public key.
type Address [20]byte

// AddressOf derives the address of a public key.
func AddressOf(pub ed25519.PublicKey) Address {
	sum := sha256.Sum256(pub)
	var a Address
	copy(a[:], sum[:20])
	return a
}

// Vote is a signed prevote or precommit. A zero BlockID is a vote for nil.
// Extension is the application's vote extension of a precommit for a block,
// signed apart (ExtensionSignature over VoteExtensionSignBytes), present
// from the height the consensus parameters enable vote extensions at.
type Vote struct {
	Type               SignedMsgType
	Height             int64
	Round              int32
	BlockID            BlockID
	Timestamp          time.Time
	ValidatorAddress   Address
	ValidatorIndex     int32
	Signature          []byte
	Extension          []byte
	ExtensionSignature []byte
}

// Proposal is the proposer's signed offer of a block for (Height, Round).
// POLRound is the round of the polka that justifies re-proposing a valid
// value, or -1 for a fresh value.
type Proposal struct {
	Height    int64
	Round     int32
	POLRound  int32
	BlockID   BlockID
	Timestamp time.Time
	Signature []byte
}

// Errors from signature and membership checks.
var (
	ErrBadSignature     = errors.New("invalid signature")
	ErrUnknownValidator = errors.New("unknown validator")
	ErrInvalidVote      = errors.New("invalid vote")
)

// ValidateBasic checks a vote's fields without any state.
func (v *Vote) ValidateBasic() error {
	switch {
	case v.Type != PrevoteType && v.Type != PrecommitType:
		return fmt.Errorf("%w: type %d", ErrInvalidVote, v.Type)
	case v.Height <= 0:
		return fmt.Errorf("%w: height %d", ErrInvalidVote, v.Height)
	case v.Round < 0:
		return fmt.Errorf("%w: round %d", ErrInvalidVote, v.Round)
	case v.ValidatorIndex < 0:
		return fmt.Errorf("%w: validator index %d", ErrInvalidVote, v.ValidatorIndex)
	case !v.BlockID.IsNil() && !v.BlockID.IsComplete():
		return fmt.Errorf("%w: block ID %v is neither nil nor complete (a header hash and a part set with parts and a root)", ErrInvalidVote, v.BlockID)
	case len(v.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("%w: signature length %d", ErrInvalidVote, len(v.Signature))
	case len(v.Extension) > MaxVoteExtensionSize:
		return fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrInvalidExtension, len(v.Extension), MaxVoteExtensionSize)
	case !v.ExtendsBlock() && (len(v.Extension) > 0 || len(v.ExtensionSignature) > 0):
		return fmt.Errorf("%w: on a %s that is not for a block", ErrInvalidExtension, v.Type)
	}
	return nil
}

// VerifyVote checks that vote is well formed, comes from the validator of
// vals it claims (address and index agree) and carries a valid signature.
func VerifyVote(chainID string, vals *ValidatorSet, vote *Vote) error {
	if err := vote.ValidateBasic(); err != nil {
		return err
	}
	val := vals.ByIndex(vote.ValidatorIndex)
	if val == nil || val.Address != vote.ValidatorAddress {
		return fmt.Errorf("%w: %X at index %d", ErrUnknownValidator, vote.ValidatorAddress[:6], vote.ValidatorIndex)
	}
	if !verified.verify(val.PubKey, VoteSignBytes(chainID, vote), vote.Signature) {
		return fmt.Errorf("%w: %s from %X at height %d round %d", ErrBadSignature, vote.Type, vote.ValidatorAddress[:6], vote.Height, vote.Round)
	}
	return nil
}

// VerifyProposal checks a proposal's fields and that it is signed by the
// proposer of its round.
func VerifyProposal(chainID string, proposer *Validator, p *Proposal) error {
	if p.Height <= 0 || p.Round < 0 || p.POLRound < -1 || p.POLRound >= p.Round || p.BlockID.IsNil() {
		return fmt.Errorf("%w: malformed proposal h=%d r=%d pol=%d", ErrInvalidVote, p.Height, p.Round, p.POLRound)
	}
	if !verified.verify(proposer.PubKey, ProposalSignBytes(chainID, p), p.Signature) {
		return fmt.Errorf("%w: proposal at height %d round %d", ErrBadSignature, p.Height, p.Round)
	}
	return nil
}
