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

// String returns a short upper-case hex form for logs.
func (id BlockID) String() string {
	if id.IsNil() {
		return "nil"
	}
	return strings.ToUpper(hex.EncodeToString(id.Hash[:6]))
}

// Header is a block header. Its hash is the block's identity.
type Header struct {
	ChainID            string
	Height             int64
	Time               time.Time
	LastBlockID        BlockID
	LastCommitHash     Hash
	DataHash           Hash
	ValidatorsHash     Hash
	NextValidatorsHash Hash
	AppHash            []byte
	LastResultsHash    Hash
	ProposerAddress    Address
}

// Hash returns the SHA-256 of the header's canonical encoding.
func (h *Header) Hash() Hash {
	var w canonicalWriter
	w.str("bftnode/header")
	w.str(h.ChainID)
	w.i64(h.Height)
	w.time(h.Time)
	w.blockID(h.LastBlockID)
	w.buf = append(w.buf, h.LastCommitHash[:]...)
	w.buf = append(w.buf, h.DataHash[:]...)
	w.buf = append(w.buf, h.ValidatorsHash[:]...)
	w.buf = append(w.buf, h.NextValidatorsHash[:]...)
	w.bytes(h.AppHash)
	w.buf = append(w.buf, h.LastResultsHash[:]...)
	w.buf = append(w.buf, h.ProposerAddress[:]...)
	return sha256.Sum256(w.buf)
}

// Data holds a block's transactions.
type Data struct {
	Txs [][]byte
}

// Hash is the Merkle root over the transactions.
func (d *Data) Hash() Hash { return MerkleRoot(d.Txs) }

// Block is a header, its transactions, and the commit that decided the
// previous block (nil at the first height).
type Block struct {
	Header     Header
	Data       Data
	LastCommit *Commit
}

// Hash is the hash of the block's header.
func (b *Block) Hash() Hash { return b.Header.Hash() }

// Errors returned by ValidateBasic on malformed blocks.
var (
	ErrInvalidBlock = errors.New("invalid block")
)

// ValidateBasic checks what a block can show about itself without any state:
// positive height, a data hash and last-commit hash matching its contents.
func (b *Block) ValidateBasic() error {
	if b.Header.Height <= 0 {
		return fmt.Errorf("%w: height %d", ErrInvalidBlock, b.Header.Height)
	}
	if got := b.Data.Hash(); got != b.Header.DataHash {
		return fmt.Errorf("%w: data hash %X does not match header %X", ErrInvalidBlock, got[:6], b.Header.DataHash[:6])
	}
	var lastCommitHash Hash
	if b.LastCommit != nil {
		lastCommitHash = b.LastCommit.Hash()
	}
	if lastCommitHash != b.Header.LastCommitHash {
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

// Hash is the Merkle root over the canonical encodings of the signatures.
func (c *Commit) Hash() Hash {
	items := make([][]byte, len(c.Signatures))
	for i, s := range c.Signatures {
		var w canonicalWriter
		w.u8(uint8(s.Flag))
		w.buf = append(w.buf, s.ValidatorAddress[:]...)
		w.time(s.Timestamp)
		w.bytes(s.Signature)
		items[i] = w.buf
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
