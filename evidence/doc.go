// Package evidence is the evidence pool: the misbehaviour (types.Evidence)
// this node has verified and not yet seen committed, kept in Pebble so it
// survives restarts, for a proposer to put in its blocks (Pending), and the
// check of the evidence in a proposed block (CheckBlockEvidence), as
// CometBFT v0.40.0's evidence pool does. PendingAfter streams the pending
// evidence in order of arrival, for evidence gossip (p2p/evidence.go).
//
// Evidence is verified against the validator set and the block time at its
// height, read through the Chain interface the pool declares; it expires
// when it is older than both the consensus parameters' max_age_num_blocks
// and max_age_duration. Committed evidence is remembered (so it is never
// committed twice) until it expires; expired evidence is pruned.
//
// Only duplicate-vote evidence is verified; light-client-attack evidence
// is refused with ErrUnsupported (its verification needs the trusted
// headers of the chain and is a later step).
package evidence
