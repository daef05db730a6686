package types

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Evidence is proof that validators misbehaved, in the two forms CometBFT
// v0.40.0 defines (DuplicateVoteEvidence and LightClientAttackEvidence),
// with its encodings and hashes. Blocks carry it so that the application
// can punish the validators (ABCI Misbehavior).
type Evidence interface {
	// Bytes is the encoding of the concrete message (CometBFT's
	// tendermint.types.DuplicateVoteEvidence or LightClientAttackEvidence),
	// the leaf of the block's evidence hash.
	Bytes() []byte
	// Hash identifies the evidence (CometBFT's Evidence.Hash).
	Hash() Hash
	// Height is the height of the misbehaviour (for a light client attack,
	// the common height), the one whose validator set judges it.
	Height() int64
	// Time is the time of the block at Height.
	Time() time.Time
	// ValidateBasic checks the evidence without any state.
	ValidateBasic() error
	// ABCI is the misbehaviour the application is told about.
	ABCI() []Misbehavior
	String() string
}

// ErrInvalidEvidence is wrapped by the errors of evidence that does not
// hold together or does not prove misbehaviour.
var ErrInvalidEvidence = errors.New("invalid evidence")

// MisbehaviorType is the kind of misbehaviour (ABCI's MisbehaviorType).
type MisbehaviorType int32

// The kinds of misbehaviour, numbered as in ABCI.
const (
	MisbehaviorDuplicateVote     MisbehaviorType = 1
	MisbehaviorLightClientAttack MisbehaviorType = 2
)

// Misbehavior is one validator's misbehaviour as the application receives
// it in FinalizeBlock (ABCI's Misbehavior).
type Misbehavior struct {
	Type             MisbehaviorType
	ValidatorAddress Address
	ValidatorPower   int64
	Height           int64
	Time             time.Time
	TotalVotingPower int64
}

// DuplicateVoteEvidence is proof that a validator signed two different votes
// of one type for one height and round. VoteA's block ID sorts before
// VoteB's (see NewDuplicateVoteEvidence). TotalVotingPower and
// ValidatorPower are those of the validator set at the votes' height,
// Timestamp the time of the block at that height.
type DuplicateVoteEvidence struct {
	VoteA, VoteB     *Vote
	TotalVotingPower int64
	ValidatorPower   int64
	Timestamp        time.Time
}

// NewDuplicateVoteEvidence builds the evidence of two conflicting votes, in
// CometBFT's order, with the powers of vals (the set at the votes' height)
// and blockTime, the time of the block at that height.
func NewDuplicateVoteEvidence(vote1, vote2 *Vote, blockTime time.Time, vals *ValidatorSet) (*DuplicateVoteEvidence, error) {
	if vote1 == nil || vote2 == nil || vals == nil {
		return nil, fmt.Errorf("%w: missing vote or validator set", ErrInvalidEvidence)
	}
	_, val := vals.ByAddress(vote1.ValidatorAddress)
	if val == nil {
		return nil, fmt.Errorf("%w: %X is not in the validator set", ErrUnknownValidator, vote1.ValidatorAddress[:6])
	}
	if bytes.Compare(blockIDKey(&vote2.BlockID), blockIDKey(&vote1.BlockID)) < 0 {
		vote1, vote2 = vote2, vote1
	}
	return &DuplicateVoteEvidence{VoteA: vote1, VoteB: vote2, TotalVotingPower: vals.TotalVotingPower(),
		ValidatorPower: val.VotingPower, Timestamp: blockTime}, nil
}

// blockIDKey is the key CometBFT orders a duplicate vote's block IDs by:
// the hash followed by the encoded part set header.
func blockIDKey(id *BlockID) []byte {
	b := append([]byte(nil), hashBytes(&id.Hash)...)
	b = appendVarint(b, 1, uint64(id.PartSetHeader.Total))
	return appendBytes(b, 2, hashBytes(&id.PartSetHeader.Hash))
}

// Bytes is the encoded tendermint.types.DuplicateVoteEvidence.
func (e *DuplicateVoteEvidence) Bytes() []byte { return appendDuplicateVoteEvidence(nil, e) }

// Hash is the SHA-256 of Bytes.
func (e *DuplicateVoteEvidence) Hash() Hash { return sha256.Sum256(e.Bytes()) }

// Height is the votes' height.
func (e *DuplicateVoteEvidence) Height() int64 { return e.VoteA.Height }

// Time is the time of the block at the votes' height.
func (e *DuplicateVoteEvidence) Time() time.Time { return e.Timestamp }

func (e *DuplicateVoteEvidence) String() string {
	return fmt.Sprintf("DuplicateVoteEvidence{validator %X, %s at height %d round %d: %s vs %s}",
		e.VoteA.ValidatorAddress[:6], e.VoteA.Type, e.VoteA.Height, e.VoteA.Round, e.VoteA.BlockID, e.VoteB.BlockID)
}

// ABCI is the validator's misbehaviour.
func (e *DuplicateVoteEvidence) ABCI() []Misbehavior {
	return []Misbehavior{{Type: MisbehaviorDuplicateVote, ValidatorAddress: e.VoteA.ValidatorAddress,
		ValidatorPower: e.ValidatorPower, Height: e.VoteA.Height, Time: e.Timestamp, TotalVotingPower: e.TotalVotingPower}}
}

// ValidateBasic checks that both votes are present and well formed and in
// CometBFT's order (VoteA's block ID sorts strictly first).
func (e *DuplicateVoteEvidence) ValidateBasic() error {
	if e == nil || e.VoteA == nil || e.VoteB == nil {
		return fmt.Errorf("%w: duplicate vote evidence without both votes", ErrInvalidEvidence)
	}
	if err := e.VoteA.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: vote A: %w", ErrInvalidEvidence, err)
	}
	if err := e.VoteB.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: vote B: %w", ErrInvalidEvidence, err)
	}
	if bytes.Compare(blockIDKey(&e.VoteA.BlockID), blockIDKey(&e.VoteB.BlockID)) >= 0 {
		return fmt.Errorf("%w: duplicate votes for the same block ID or out of order", ErrInvalidEvidence)
	}
	return nil
}

// Verify checks the evidence against vals, the validator set at its
// height: the votes are of one validator of vals, for one height, round
// and type and different block IDs, the powers are vals', and both
// signatures are valid. It does not check the evidence's age or time.
func (e *DuplicateVoteEvidence) Verify(chainID string, vals *ValidatorSet) error {
	if err := e.ValidateBasic(); err != nil {
		return err
	}
	a, b := e.VoteA, e.VoteB
	_, val := vals.ByAddress(a.ValidatorAddress)
	switch {
	case val == nil:
		return fmt.Errorf("%w: %X was not a validator at height %d", ErrUnknownValidator, a.ValidatorAddress[:6], a.Height)
	case a.Height != b.Height || a.Round != b.Round || a.Type != b.Type:
		return fmt.Errorf("%w: votes for %d/%d/%s and %d/%d/%s", ErrInvalidEvidence, a.Height, a.Round, a.Type, b.Height, b.Round, b.Type)
	case a.ValidatorAddress != b.ValidatorAddress:
		return fmt.Errorf("%w: votes of validators %X and %X", ErrInvalidEvidence, a.ValidatorAddress[:6], b.ValidatorAddress[:6])
	case val.VotingPower != e.ValidatorPower:
		return fmt.Errorf("%w: validator power %d, the set at height %d says %d", ErrInvalidEvidence, e.ValidatorPower, a.Height, val.VotingPower)
	case vals.TotalVotingPower() != e.TotalVotingPower:
		return fmt.Errorf("%w: total voting power %d, the set at height %d says %d", ErrInvalidEvidence, e.TotalVotingPower, a.Height, vals.TotalVotingPower())
	}
	for i, v := range []*Vote{a, b} {
		if !ed25519.Verify(val.PubKey, VoteSignBytes(chainID, v), v.Signature) {
			return fmt.Errorf("%w: vote %c of %X at height %d", ErrBadSignature, 'A'+i, a.ValidatorAddress[:6], a.Height)
		}
	}
	return nil
}

// SignedHeader is a header with the commit that decided it.
type SignedHeader struct {
	Header *Header
	Commit *Commit
}

// LightBlock is a signed header with the validator set that signed it.
type LightBlock struct {
	SignedHeader
	ValidatorSet *ValidatorSet
}

// LightClientAttackEvidence is proof that validators signed a block that
// conflicts with the chain (a lunatic, equivocation or amnesia attack on
// light clients). CommonHeight is the last height at which the attacked
// client and the chain agreed; ByzantineValidators are the validators of
// the set at CommonHeight that signed the conflicting block, by voting
// power; TotalVotingPower is that set's and Timestamp the time of the
// block at CommonHeight.
type LightClientAttackEvidence struct {
	ConflictingBlock    *LightBlock
	CommonHeight        int64
	ByzantineValidators []*Validator
	TotalVotingPower    int64
	Timestamp           time.Time
}

// Bytes is the encoded tendermint.types.LightClientAttackEvidence.
func (e *LightClientAttackEvidence) Bytes() []byte { return appendLightClientAttackEvidence(nil, e) }

// Hash is CometBFT's: the SHA-256 of the conflicting header's hash with
// its last byte left zero, followed by the common height as a zigzag
// varint. It leaves out the commit and validators so that permutations of
// the same attack's signatures hash alike.
func (e *LightClientAttackEvidence) Hash() Hash {
	h := e.ConflictingBlock.Header.Hash()
	b := make([]byte, sha256.Size, sha256.Size+binary.MaxVarintLen64)
	copy(b[:sha256.Size-1], h[:])
	return sha256.Sum256(binary.AppendVarint(b, e.CommonHeight))
}

// Height is the common height.
func (e *LightClientAttackEvidence) Height() int64 { return e.CommonHeight }

// Time is the time of the block at the common height.
func (e *LightClientAttackEvidence) Time() time.Time { return e.Timestamp }

func (e *LightClientAttackEvidence) String() string {
	return fmt.Sprintf("LightClientAttackEvidence{conflicting block at height %d, common height %d, %d ByzantineValidators}",
		e.ConflictingBlock.Header.Height, e.CommonHeight, len(e.ByzantineValidators))
}

// ABCI is one misbehaviour per byzantine validator.
func (e *LightClientAttackEvidence) ABCI() []Misbehavior {
	out := make([]Misbehavior, len(e.ByzantineValidators))
	for i, v := range e.ByzantineValidators {
		out[i] = Misbehavior{Type: MisbehaviorLightClientAttack, ValidatorAddress: v.Address, ValidatorPower: v.VotingPower,
			Height: e.CommonHeight, Time: e.Timestamp, TotalVotingPower: e.TotalVotingPower}
	}
	return out
}

// ValidateBasic checks the evidence without any state: a complete
// conflicting block whose commit and validator set are its header's, a
// positive total power and a common height at or below the conflicting
// block's.
func (e *LightClientAttackEvidence) ValidateBasic() error {
	lb := e.ConflictingBlock
	switch {
	case lb == nil || lb.Header == nil || lb.Commit == nil || lb.ValidatorSet == nil:
		return fmt.Errorf("%w: incomplete conflicting block", ErrInvalidEvidence)
	case e.TotalVotingPower <= 0:
		return fmt.Errorf("%w: total voting power %d", ErrInvalidEvidence, e.TotalVotingPower)
	case e.CommonHeight <= 0:
		return fmt.Errorf("%w: common height %d", ErrInvalidEvidence, e.CommonHeight)
	case e.CommonHeight > lb.Header.Height:
		return fmt.Errorf("%w: common height %d is above the conflicting block's %d", ErrInvalidEvidence, e.CommonHeight, lb.Header.Height)
	case lb.Header.Height <= 0:
		return fmt.Errorf("%w: conflicting block at height %d", ErrInvalidEvidence, lb.Header.Height)
	case lb.Commit.Height != lb.Header.Height || lb.Commit.BlockID.Hash != lb.Header.Hash():
		return fmt.Errorf("%w: the conflicting block's commit is not for its header", ErrInvalidEvidence)
	case lb.ValidatorSet.Size() == 0 || lb.ValidatorSet.Hash() != lb.Header.ValidatorsHash:
		return fmt.Errorf("%w: the conflicting block's validator set is not its header's", ErrInvalidEvidence)
	}
	return nil
}

// EvidenceList is a block's evidence.
type EvidenceList []Evidence

// Hash is the header's evidence hash: the Merkle root over each
// evidence's Bytes (that of nothing for the empty list).
func (l EvidenceList) Hash() Hash {
	items := make([][]byte, len(l))
	for i, ev := range l {
		items[i] = ev.Bytes()
	}
	return MerkleRoot(items)
}

// ABCI is the misbehaviour of all the list's evidence, in order.
func (l EvidenceList) ABCI() []Misbehavior {
	var out []Misbehavior
	for _, ev := range l {
		out = append(out, ev.ABCI()...)
	}
	return out
}
