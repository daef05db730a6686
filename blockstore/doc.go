// Package blockstore keeps the chain on disk in one Pebble database: blocks
// by height and by hash, canonical and seen commits (with their vote
// extensions at heights that have them: [Store.LoadExtendedCommit]), the
// transaction index,
// the application's FinalizeBlock response of each block (which holds the
// tx results; they are not stored a second time), and the node's State with the
// validator set and the consensus parameters of every height
// ([Store.LoadValidators], [Store.LoadConsensusParams]). [ConsensusParams]
// holds CometBFT's parameter rules: [ConsensusParams.Update] applies an
// application's ConsensusParamUpdates and refuses one that breaks them.
//
// Everything a commit must write goes in one synced Pebble batch: a
// [Batch] gathers any mix of blocks, results and state and writes them
// atomically with [Batch.Commit]; the Store's Save methods are one-call
// forms of it ([Store.SaveDecided] for the engine's decide step).
// A batch that is not committed leaves nothing behind.
//
// Values are protobuf: the bftnode.types messages for blocks and commits,
// bftnode.store for metas and state. A value that does not decode
// gives an error wrapping [ErrCorrupt] and naming the key, never a panic;
// a missing one an error wrapping [ErrNotFound].
//
// # Format version
//
// A new store is marked with [FormatVersion] (3). [Open] migrates a
// format-2 store (keyed by record kind first) to format 3 in place, once,
// in batches that each move records and delete their old keys, so an
// interrupted migration goes on at the next Open; it refuses a store of a
// newer format, and one with data but no mark (written by a bftnode before
// the chain format became CometBFT's) with an error that says to reset the
// data directory; both errors wrap [ErrFormat].
//
// # Key layout
//
// Every record of a height (block, meta, commits, validator set, consensus
// parameters, FinalizeBlock response) is keyed prefix 0x00 ‖ big-endian
// height ‖ kind byte, so one height's records are adjacent and heights
// sort numerically; the hash indexes (a prefix byte then a 32-byte hash)
// and the singletons (store state, format mark, state) sort after all of
// them (see keys.go). What a block adds thus lies after everything older
// but the hash indexes: Pebble's compactions rewrite the newest heights and
// the hash indexes, not the tables of older heights (in the kind-first
// format 2 every flush overlapped all older metas, commits and FinalizeBlock
// responses, though not the blocks, whose kind sorted first), and pruning
// deletes the heights below the retain height with one DeleteRange.
//
// # Pruning
//
// [Store.PruneBlocks] deletes blocks, metas, canonical and seen commits,
// hash index entries, FinalizeBlock responses and consensus parameters
// below the retain height, and validator sets below the height before it. It keeps the tx
// locations, so that the mempool never re-admits a transaction committed
// long ago ([Store.HasTx]). The node decides the retain height (see
// package node).
//
// # Rollback
//
// [Store.Rollback] undoes the execution of the latest block H in one synced
// batch: the state after H becomes the state after H-1, rebuilt from block
// H's header (last block ID, app hash, last results hash), block H-1's time
// and the validator sets stored by height. Block H is kept for the engine to
// execute again, or, with hard, deleted with its hash index, tx index
// entries, FinalizeBlock response and seen commit; block H-1's
// canonical and seen commits stay.
package blockstore
