// Package privval is the validator's signer, with the guard that keeps it from
// double-signing.
//
// Signer is what the consensus engine signs with. FilePV implements it with
// an Ed25519 key file and a last-sign state file in CometBFT's JSON formats
// (config/priv_validator_key.json and data/priv_validator_state.json). A
// remote signer can implement Signer later.
//
// # The double-sign guard
//
// Every message is placed at a (height, round, step), with steps proposal=1,
// prevote=2, precommit=3. FilePV signs fresh only at a strictly higher
// (height, round, step) than the last one it signed. At the same one it
// returns the saved signature when the sign bytes are identical, or differ
// only in the timestamp (then the message takes the saved timestamp), and
// refuses anything else with ErrDoubleSign; a lower one is refused too.
//
// The new last-sign state is durable before a signature is released: it is
// written to a temporary file in the same directory, fsynced, renamed over the
// state file and the directory is fsynced. If that fails, no signature is
// returned. A missing state file means "never signed"; an unreadable one is
// an error (ErrCorruptState), never treated as fresh.
package privval
