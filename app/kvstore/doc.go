// Package kvstore is an example application: a replicated key/value store,
// kept in Pebble so that a restarted node resumes where it stopped. It is
// meant to be read as a model of how to write an app.Application.
//
// Transactions are text:
//
//	key=value                         sets key to value
//	tx                                (no '=') sets tx to tx
//	val:<base64 ed25519 key>!<power>  sets a validator's voting power; 0 removes it
//
// Each key/value tx emits an "app" event with one indexed attribute, key
// (so txs can be searched by app.key); a validator tx a "validator" event
// with pubkey and power.
//
// Evidence of misbehaviour in a block (FinalizeBlock's Misbehavior) removes
// the validator it names (a power-0 validator update), unless that would
// leave no validator; each piece is recorded in a "misbehavior" block event
// (type, validator address, height, action).
//
// A Query reads the committed value of a key, given in Data or else as the
// path ("/name" reads key "name").
//
// [Retaining] wraps the app to return a retain height from Commit, as
// CometBFT's kvstore does with RetainBlocks (`bftnode app kvstore
// --retain-blocks N`).
//
// The app hash chains the blocks' writes: h(n) = SHA-256(h(n-1) ‖ n ‖ the
// writes of block n, in order), so it commits to the whole state, costs time
// in proportion to the block only, and is the same on every node and after a
// restart.
//
// Commit writes without fsync: a killed process loses nothing (the writes
// are in the operating system's cache), and after a machine crash the app
// may be some blocks behind the node's block store, which the node's
// handshake replays to it, as CometBFT's does. Syncing would only cost
// every node a disk flush per height.
package kvstore
