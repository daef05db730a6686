package types

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"
)

// benchBlock is a block of n txs of size bytes each, with a last commit of
// vals precommits, as the node builds at every height.
func benchBlock(b *testing.B, n, size, vals int) (*Block, *ValidatorSet) {
	b.Helper()
	vs := make([]*Validator, vals)
	for i := range vs {
		seed := sha256.Sum256(binary.BigEndian.AppendUint32(nil, uint32(i)))
		vs[i] = NewValidator(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), 10)
	}
	set, err := NewValidatorSet(vs)
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 123_456_789).UTC()
	last := BlockID{Hash: sha256.Sum256([]byte("last")), PartSetHeader: PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte("parts"))}}
	commit := &Commit{Height: 99, Round: 0, BlockID: last, Signatures: make([]CommitSig, vals)}
	for i, v := range set.Validators {
		commit.Signatures[i] = CommitSig{Flag: BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: ts, Signature: make([]byte, ed25519.SignatureSize)}
	}
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = make([]byte, size)
		binary.BigEndian.PutUint64(txs[i], uint64(i))
	}
	blk := &Block{
		Header: Header{
			ChainID: "bench-chain", Height: 100, Time: ts, LastBlockID: last,
			ValidatorsHash: set.Hash(), NextValidatorsHash: set.Hash(),
			AppHash: []byte("app-hash-of-eight-bytes"), ProposerAddress: set.Validators[0].Address,
		},
		Data:       Data{Txs: txs},
		LastCommit: commit,
	}
	blk.Header.DataHash = blk.Data.Hash()
	blk.Header.LastCommitHash = commit.Hash()
	return blk, set
}

// BenchmarkVoteSignBytes measures building a precommit's sign bytes.
func BenchmarkVoteSignBytes(b *testing.B) {
	_, _, v := benchVote(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = VoteSignBytes("bench-chain", v)
	}
}

// BenchmarkProposalSignBytes measures building a proposal's sign bytes.
func BenchmarkProposalSignBytes(b *testing.B) {
	_, _, v := benchVote(b)
	p := &Proposal{Height: v.Height, Round: v.Round, POLRound: -1, BlockID: v.BlockID, Timestamp: v.Timestamp}
	b.ReportAllocs()
	for b.Loop() {
		_ = ProposalSignBytes("bench-chain", p)
	}
}

// BenchmarkHeaderHash measures hashing a header.
func BenchmarkHeaderHash(b *testing.B) {
	blk, _ := benchBlock(b, 0, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		_ = blk.Header.Hash()
	}
}

// BenchmarkCommitHash measures the last-commit hash of a 4-validator commit.
func BenchmarkCommitHash(b *testing.B) {
	blk, _ := benchBlock(b, 0, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		_ = blk.LastCommit.Hash()
	}
}

// BenchmarkValidatorSetHash measures hashing a 4-validator set.
func BenchmarkValidatorSetHash(b *testing.B) {
	_, set := benchBlock(b, 0, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		_ = set.Hash()
	}
}

// BenchmarkMakeBlockID measures what the proposer does for a block of 2,000
// txs of 250 bytes: the data hash, the encoding, the parts and their Merkle
// root, and the header hash.
func BenchmarkMakeBlockID(b *testing.B) {
	blk, _ := benchBlock(b, 2000, 250, 4)
	b.ReportAllocs()
	for b.Loop() {
		blk.Header.DataHash = blk.Data.Hash()
		if _, err := MakeBlockID(blk); err != nil {
			b.Fatal(err)
		}
	}
}
