// Package interop holds bftnode's compatibility tests: CometBFT v0.40.0's own
// code (its ABCI apps and client, its RPC client, its types, light client
// and signer) talking to real bftnode processes built from this tree.
//
// It is a separate Go module so that bftnode itself never links CometBFT.
// It does not import bftnode's packages either: it sees bftnode only as a
// user does, through the binary, its files, its sockets and its RPC. `make
// test` runs it (`make interop` alone).
package interop
