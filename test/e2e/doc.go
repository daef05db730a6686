// Package e2e is the end-to-end fault suite: it builds the bftnode binary,
// generates loopback testnets with `bftnode testnet` (plus a non-validator
// full node made with `bftnode init`), runs every node as a real process,
// drives transactions through the JSON-RPC and applies faults to the
// processes (SIGKILL and restart, SIGTERM and restart, SIGSTOP/SIGCONT).
// After each scenario it checks, over the RPC of every node:
//
//   - agreement: identical block IDs and app hashes at every height a node has;
//   - durability: every tx the RPC reported committed is in its block, found
//     by `tx` on every node and readable with `abci_query`;
//   - no tx committed twice;
//   - no double signing, as far as the RPC shows it: for every validator, at
//     most one block ID (or nil) per (height, round) among the precommits of
//     every commit seen (the canonical commits inside blocks and the nodes'
//     latest "seen" commits sampled during the run), and one signature per
//     such vote (the signer re-uses its signature for a repeated vote);
//   - liveness: every node reaches the final height within a bound after the
//     faults end.
//
// The tests live in _test.go files; `go test ./test/e2e` runs the short form
// (a few minutes), BFTNODE_LONG=1 the long form, and -short skips the suite.
// A failure prints the scenario and the seed; replay it with
//
//	go test ./test/e2e -run TestRandomFaults -seed N
package e2e
