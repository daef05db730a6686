// Package sim is a deterministic simulator of a bftnode validator network.
//
// N validators run the real consensus core (package consensus) over an
// in-memory network driven by a seeded scheduler and a virtual clock. Before
// GST (global stabilisation time) messages are delayed arbitrarily, reordered
// and dropped, the network partitions, and validators crash and restart with
// only what they persisted (their WAL, decided blocks and last-sign state).
// After GST delays are bounded. Byzantine validators equivocate, double-vote,
// stay silent, forget their locks, or send garbage. Or they attack the
// locking rules together with the network before GST (LockAttack): one
// correct validator decides and is cut off while the others, locked on its
// value, are offered other values, so a broken lock breaks Agreement.
//
// After each run the simulator checks Agreement, Validity, Termination after
// GST, and that no correct validator signed two different votes for one
// height, round and type. The same Config (with its Seed) always produces the
// same run, so any violation replays from its seed.
package sim
