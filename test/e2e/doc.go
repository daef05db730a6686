// Package e2e is the end-to-end fault suite: it builds the bftnode binary,
// generates loopback testnets with `bftnode testnet` (plus a non-validator
// full node made with `bftnode init`), runs every node as a real process,
// drives transactions through the JSON-RPC and applies faults to the
// processes: kill (SIGKILL, restart), restart (SIGTERM, restart), pause
// (SIGSTOP, SIGCONT) and disconnect (the running node is cut off from its
// peers for a while through the RPC's unsafe_disconnect, which the harness
// turns on with [rpc] unsafe = true, then reconnects).
// After each scenario it checks, over the RPC of every node:
//
//   - agreement: identical block IDs and app hashes at every height a node has;
//   - durability: every tx the RPC reported committed is in its block, found
//     by `tx` on every node and readable with `abci_query`;
//   - no tx committed twice;
//   - no double signing: for every validator, at most one block ID (or nil)
//     per (height, round, vote type), and one proposal per (height, round),
//     among every vote and proposal logged in every node's consensus WAL
//     (each node logs its own and all it received, of every round), read
//     after the nodes are stopped cleanly; and among the precommits of every
//     commit the RPC shows (the canonical commits inside blocks and the
//     nodes' latest "seen" commits, sampled during the run). A repeated
//     message must carry the same signature: the signer re-uses it;
//   - liveness: every node reaches the final height within a bound after the
//     faults end.
//
// A scenario may also run Byzantine validators (equivocate, doublevote,
// amnesia): TestMain builds the test-only bftnode-byzantine binary
// (internal/byzantine/cmd/bftnode-byzantine), the node with the
// misbehaving decorators of package internal/byzantine, and runs those
// validators with it. Their double signing must be caught by the checks
// above, and nobody else's found.
//
// TestRoguePeer attacks one validator of four with a rogue peer (package
// internal/byzantine/rogue, a bare libp2p host in the test process) that
// floods one behaviour at a time at full speed for -attack-duration
// (default 10s; issue 16's table comes from -attack-duration 60s), coming
// back under a fresh peer ID after each ban. For each behaviour it checks
// the victim's RSS growth (VmRSS, at most 64 MiB), how many messages the
// first peer ID wrote before its ban (bounds in untilBan) and that the
// network commits at least half its unattacked heights/s. -attack-only
// (a regexp over the behaviours' descriptions) runs some of them, as in
// -attack-only 'block sync|fake roots'.
//
// Faults come from scenario files (testdata/*.txt, see parseScenario) or
// from a seeded generator. The tests live in _test.go files: `go test
// ./test/e2e` runs the short form (about two minutes, and TestRoguePeer
// about two more), and -short skips
// the suite. BFTNODE_LONG=1 runs the long form: random faults on 4
// validators, on 7, and on 4 with a Byzantine one, and kill -9 of one
// validator (at least 50 times), each for BFTNODE_E2E_DURATION (default
// 15m, so about an hour in all: `make test-long`'s -timeout 120m fits;
// give go test a -timeout of about 5x the duration).
// A failure prints the scenario and the seed; replay it with
//
//	go test ./test/e2e -run TestRandomFaults -seed N
package e2e
