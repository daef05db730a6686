// Package types holds bftnode's domain types: blocks and their headers, block
// IDs, proposals, votes, commits, validators and validator sets, with the
// canonical sign bytes, hashing, proposer selection and BFT time (block
// times from commit timestamps) that every node must compute identically.
//
// These are plain Go structs used by the consensus core and the engine. The
// wire and storage format is protobuf (package proto/bftnode/types); the
// conversion happens at the edges (p2p, block store), never in the core.
package types
