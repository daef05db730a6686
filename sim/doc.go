// Package sim is a deterministic simulator of a bftnode validator network.
//
// N validators run the real engine (package consensus/engine), the code
// every validator runs, stepped one input at a time on a virtual clock over
// a simulated network driven by a seeded scheduler. Each has the real WAL
// (consensus/wal) and the real signer with its last-sign state
// (privval.FilePV) on an in-memory disk (internal/diskfs.Mem), the real
// block store on an in-memory Pebble file system, and the kvstore
// application in memory. Before GST (global stabilisation time) messages
// are delayed arbitrarily, reordered and dropped, the network partitions,
// and validators crash: at once, or halfway through handling a message
// (their disk failing at a WAL write or sync, or after the signer's state
// was written but not synced). A crash loses the engine's memory and
// whatever the disks had not synced (a random prefix of an unsynced WAL
// tail survives, so the last record may be torn); the validator restarts
// through the engine's own recovery (handshake with a fresh application,
// WAL replay). After GST delays are bounded. Every validator's clock is off
// virtual time by a fixed offset drawn from the seed; votes carry these
// clocks' readings and blocks are dated by BFT time.
//
// A caller may decorate chosen validators' engines (Config.Decorate):
// wrap their transport, signer or core, as a fault test puts a faulty
// validator in the network. The simulator has no faulty behaviour of its
// own, so the bftnode binary, which runs it as `bftnode sim`, links none:
// the Byzantine behaviours (how many validators, which behaviour, a mix
// drawn from the seed) are test code in internal/byzantine, which its
// simmodes package and the bftnode-sim development binary pass in. A
// decorated validator is not correct (unless its Decoration is Honest: a
// defect planted in the code under test): it is never crashed, the checks
// below cover the others, and duplicate-vote evidence may accuse only it.
//
// After each run the simulator checks, over the correct validators,
// Agreement, Validity, Termination after GST, that none signed two
// different votes for one height, round and type, durability (a correct validator's own proposal
// or vote leaves it only once its WAL record and the signer's state that
// cover it are on disk, as a crash at that moment would find them), and
// BFT time: every decided block is dated by the weighted median of its
// last commit, within the correct validators' timestamps there and after
// the block before, no correct validator votes for a block dated
// otherwise, and every correct precommit is dated at least 1 ms after its
// block. The same Config (with its Seed) always produces the same run, so
// any violation replays from its seed. With Config.Trace set, a run is
// written step by step as JSON lines (trace.go: each core's steps, the
// votes and proposals sent, partitions, crashes) for the web view (package
// ui) to play back.
package sim
