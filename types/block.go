package types

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PartSetHeader names the parts a serialized block is split into for gossip:
// how many, and the Merkle root over them.
type PartSetHeader struct {
	Total uint32
	Hash  Hash
}

// BlockID identifies a block: the hash of its header, plus the header of its
// part set. The zero BlockID means "nil" in a vote.
type BlockID struct {
	Hash          Hash
	PartSetHeader PartSetHeader
}

// IsNil reports whether id is the nil block ID (a vote for no block).
func (id BlockID) IsNil() bool { return id == BlockID{} }

// IsComplete reports whether id names a block: a header hash and a part
// set of at least one part with its root. A vote's block ID is nil or
// complete, as CometBFT requires.
func (id BlockID) IsComplete() bool {
	return id.Hash != Hash{} && id.PartSetHeader.Total > 0 && id.PartSetHeader.Hash != Hash{}
}

// String returns a short upper-case hex form for logs.
func (id BlockID) String() string {
	if id.IsNil() {
		return "nil"
	}
	return strings.ToUpper(hex.EncodeToString(id.Hash[:6]))
}

// BlockProtocol is the block protocol version bftnode's headers carry:
// CometBFT v0.40.0's.
const BlockProtocol = 11

// Version is the protocol version of the block format and of the
// application a header was made under.
type Version struct {
	Block uint64
	App   uint64
}

// Header is a block header, with CometBFT's fields. Its hash is the block's
// identity. A zero hash field stands for an absent (empty) one: the first
// header's LastBlockID and LastResultsHash are zero.
type Header struct {
	Version            Version
	ChainID            string
	Height             int64
	Time               time.Time
	LastBlockID        BlockID
	LastCommitHash     Hash
	DataHash           Hash
	ValidatorsHash     Hash
	NextValidatorsHash Hash
	ConsensusHash      Hash
	AppHash            []byte
	LastResultsHash    Hash
	EvidenceHash       Hash
	ProposerAddress    Address
}

// Hash is the header hash as CometBFT computes it: the Merkle root over the
// encoding of each field (see canonical.go).
func (h *Header) Hash() Hash { return headerHash(h) }

// Data holds a block's transactions.
type Data struct {
	Txs [][]byte
}

// Hash is the Merkle root over the transactions' hashes (SHA-256), as in
// CometBFT.
func (d *Data) Hash() Hash {
	flat := make([]byte, len(d.Txs)*sha256.Size) // one allocation for all the hashes
	hashes := make([][]byte, len(d.Txs))
	for i, tx := range d.Txs {
		h := flat[i*sha256.Size : (i+1)*sha256.Size]
		sum := sha256.Sum256(tx)
		copy(h, sum[:])
		hashes[i] = h
	}
	return MerkleRoot(hashes)
}

// Block is a header, its transactions, the evidence of misbehaviour it
// commits and the commit that decided the previous block (nil at the first
// height, where CometBFT has the empty commit: both encode alike).
type Block struct {
	Header     Header
	Data       Data
	Evidence   EvidenceList
	LastCommit *Commit
}

// Hash is the hash of the block's header.
func (b *Block) Hash() Hash { return b.Header.Hash() }

// FillHeader sets the header's hashes of the block's own contents: its
// transactions, its evidence and its last commit.
func (b *Block) FillHeader() {
	b.Header.DataHash = b.Data.Hash()
	b.Header.EvidenceHash = b.Evidence.Hash()
	b.Header.LastCommitHash = b.LastCommit.Hash()
}

// Errors returned by ValidateBasic on malformed blocks.
var (
	ErrInvalidBlock = errors.New("invalid block")
)

// ValidateBasic checks what a block can show about itself without any state:
// positive height, the block protocol, each evidence's own checks, and data,
// evidence and last-commit hashes matching its contents.
func (b *Block) ValidateBasic() error {
	if b.Header.Height <= 0 {
		return fmt.Errorf("%w: height %d", ErrInvalidBlock, b.Header.Height)
	}
	if b.Header.Version.Block != BlockProtocol {
		return fmt.Errorf("%w: block protocol %d, want %d", ErrInvalidBlock, b.Header.Version.Block, BlockProtocol)
	}
	if got := b.Data.Hash(); got != b.Header.DataHash {
		return fmt.Errorf("%w: data hash %X does not match header %X", ErrInvalidBlock, got[:6], b.Header.DataHash[:6])
	}
	for i, ev := range b.Evidence {
		if err := ev.ValidateBasic(); err != nil {
			return fmt.Errorf("%w: evidence %d: %w", ErrInvalidBlock, i, err)
		}
	}
	if got := b.Evidence.Hash(); got != b.Header.EvidenceHash {
		return fmt.Errorf("%w: evidence hash %X does not match header %X", ErrInvalidBlock, got[:6], b.Header.EvidenceHash[:6])
	}
	if b.LastCommit.Hash() != b.Header.LastCommitHash {
		return fmt.Errorf("%w: last commit hash does not match header", ErrInvalidBlock)
	}
	return nil
}

// BlockIDFlag says what a commit signature stands for.
type BlockIDFlag uint8

// The three kinds of commit signature, as in Tendermint.
const (
	BlockIDFlagAbsent BlockIDFlag = 1 // no precommit received from this validator
	BlockIDFlagCommit BlockIDFlag = 2 // precommit for the committed block
	BlockIDFlagNil    BlockIDFlag = 3 // precommit for nil
)

// CommitSig is one validator's precommit as kept in a commit.
type CommitSig struct {
	Flag             BlockIDFlag
	ValidatorAddress Address
	Timestamp        time.Time
	Signature        []byte
}

// Commit is the set of precommits that decided a block: one slot per
// validator, in validator-set order.
type Commit struct {
	Height     int64
	Round      int32
	BlockID    BlockID
	Signatures []CommitSig
}

// Hash is the Merkle root over the signatures' encodings, as in CometBFT;
// a nil commit (the first block's) hashes as the empty one.
func (c *Commit) Hash() Hash {
	if c == nil {
		return MerkleRoot(nil)
	}
	items := make([][]byte, len(c.Signatures))
	for i := range c.Signatures {
		items[i] = appendCommitSig(nil, &c.Signatures[i])
	}
	return MerkleRoot(items)
}

// VoteAt rebuilds the precommit of the validator at index idx, so its
// signature can be checked. The block ID is nil for a nil precommit.
func (c *Commit) VoteAt(idx int) *Vote {
	s := c.Signatures[idx]
	v := &Vote{
		Type:             PrecommitType,
		Height:           c.Height,
		Round:            c.Round,
		Timestamp:        s.Timestamp,
		ValidatorAddress: s.ValidatorAddress,
		ValidatorIndex:   int32(idx),
		Signature:        s.Signature,
	}
	if s.Flag == BlockIDFlagCommit {
		v.BlockID = c.BlockID
	}
	return v
}
