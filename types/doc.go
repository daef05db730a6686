// Package types holds bftnode's domain types: blocks and their headers, block
// IDs, proposals, votes, commits, validators and validator sets, with the
// canonical sign bytes, hashing, proposer selection and BFT time (block
// times from commit timestamps) that every node must compute identically.
//
// The chain format is CometBFT v0.40.0's, byte for byte: header hashes,
// block IDs and part sets, data, commit and validator-set hashes, the
// consensus-params hash and the sign bytes of votes, proposals and vote
// extensions are computed as CometBFT computes them, so its light client and
// signers verify bftnode chains. canonical.go writes that encoding straight
// from the domain types; testdata/cometbft_vectors.json holds vectors that
// CometBFT's own code computed (test/interop writes and checks them).
//
// Vote extensions (extension.go): a precommit for a block may carry the
// application's extension and a signature over it; CheckExtension and
// VerifyExtension hold CometBFT's rules for them, and ExtendedCommit is a
// commit with its precommits' extensions, which the next proposer gives the
// application (it is not part of any block).
//
// Evidence of misbehaviour (evidence.go, evidence_codec.go) has CometBFT's
// two forms, DuplicateVoteEvidence and LightClientAttackEvidence, with its
// encodings, hashes, the evidence hash of a list and the ABCI Misbehavior;
// testdata/cometbft_evidence_vectors.json holds CometBFT's vectors for them.
// lightattack.go judges a light client attack as CometBFT does: its kind
// (lunatic, equivocation, amnesia), its byzantine validators, the evidence
// a light client or block sync builds of a conflicting block
// (NewLightClientAttackEvidence) and its verification against the chain's
// signed headers (LightClientAttackEvidence.Verify).
// Blocks carry evidence (Block.Evidence, committed to by the header's
// evidence hash).
//
// VerifyVote and VerifyProposal remember the signatures they found valid
// (sigcache.go, a bounded process-wide cache keyed by key, message and
// signature), so a vote p2p checked at the edge costs the engine no second
// ed25519 verification, nor does a commit's precommit seen before as a vote.
//
// These are plain Go structs used by the consensus core and the engine. The
// wire and storage format is protobuf (package proto/bftnode/types, with
// CometBFT's field numbers for blocks, headers, commits and votes); the
// conversion happens at the edges (p2p, block store), never in the core.
package types
