// Package privval is the validator's signer, with the guard that keeps it from
// double-signing.
//
// Signer is what the consensus engine signs with. FilePV implements it with
// an Ed25519 key file and a last-sign state file in CometBFT's JSON formats
// (config/priv_validator_key.json and data/priv_validator_state.json).
// RemoteSigner implements it with an external signer process (CometBFT's
// SignerServer, tmkms, horcrux) that dials in to priv_validator_laddr and
// speaks CometBFT's privval protocol (remote*.go): the node sends a
// request, the signer answers, one at a time per connection, each frame a
// uvarint length and a privval.Message; idle connections are pinged. Both
// sign behind the same double-sign guard (guard.go), so a RemoteSigner
// never asks for a signature the node would refuse, saves what it got
// before releasing it, and checks it with the signer's public key. Any
// failure of the signer matches ErrRemoteSigner: the message is not signed
// and the engine goes on without it.
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
// A precommit for a block that carries a vote extension (a non-nil
// Extension) gets its ExtensionSignature in the same call: FilePV signs the
// extension with its key; RemoteSigner takes it from the signer's answer
// (CometBFT's signers sign both) and checks it. The extension is not
// guarded (extensions may legitimately differ between two requests for one
// precommit), but its signature is saved in the state: asked again for the
// same precommit and extension, the signer returns it; asked with another
// extension, it signs that one and saves it.
//
// The new last-sign state is durable before a signature is released. The
// state file starts in CometBFT's JSON format (GenFilePV, ResetState, or a
// file from CometBFT); the first signature replaces it atomically (temporary
// file, fsync, rename, directory fsync) by a file of two checksummed slots,
// and every later one overwrites the older slot in place and fdatasyncs it,
// at about half the cost. A load takes the valid slot with the higher
// sequence number: a crash can tear only the slot being written, whose
// signature was never released. If saving fails, no signature is returned.
// SignVoteAlongside and SignProposalAlongside run a caller's task (the
// engine's WAL sync of the signed message) during the save, so the two
// fsyncs overlap; the signature is still released only after both.
// A missing state file means "never signed"; an unreadable one (a file cut
// short, or neither slot valid) is an error (ErrCorruptState), never
// treated as fresh. See slots.go for the format.
package privval
