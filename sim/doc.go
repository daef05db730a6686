// Package sim is a deterministic simulator of a bftnode validator network.
//
// N validators run the real consensus core (package consensus) over an
// in-memory network driven by a seeded scheduler and a virtual clock. Before
// GST (global stabilisation time) messages are delayed arbitrarily, reordered
// and dropped, the network partitions, and validators crash and restart with
// only what they persisted (their WAL, decided blocks and last-sign state).
// After GST delays are bounded. Every validator's clock is off virtual time
// by a fixed offset drawn from the seed; votes carry these clocks' readings
// and blocks are dated by BFT time (the genesis time, then the weighted
// median of the last commit's timestamps). Byzantine validators equivocate,
// double-vote, stay silent, forget their locks, send garbage, or run their
// clock an hour ahead and date their proposals so (FutureTime). Or they attack the
// locking rules together with the network before GST (LockAttack): one
// correct validator decides and is cut off while the others, locked on its
// value, are offered other values, so a broken lock breaks Agreement.
//
// After each run the simulator checks Agreement, Validity, Termination after
// GST, that no correct validator signed two different votes for one
// height, round and type, and BFT time: every decided block is dated by
// the weighted median of its last commit, within the correct validators'
// timestamps there and after the block before, no correct validator votes
// for a block dated otherwise, and every correct precommit is dated at
// least 1 ms after its block. The same Config (with its Seed) always produces the
// same run, so any violation replays from its seed. With Config.Trace set,
// a run is written step by step as JSON lines (trace.go) for the web view
// (package ui) to play back.
package sim
