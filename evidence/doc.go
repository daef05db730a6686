// Package evidence is the evidence pool: the misbehaviour (types.Evidence)
// this node has verified and not yet seen committed, kept in Pebble so it
// survives restarts, for a proposer to put in its blocks (Pending), and the
// check of the evidence in a proposed block (CheckBlockEvidence), as
// CometBFT v0.40.0's evidence pool does. PendingAfter streams the pending
// evidence in order of arrival, for evidence gossip (p2p/evidence.go).
//
// Evidence is verified against the validator set, the headers and the
// canonical commits of the chain, read through the Chain interface the pool
// declares; it expires when it is older than both the consensus
// parameters' max_age_num_blocks and max_age_duration. Committed evidence
// is remembered (so it is never committed twice) until it expires; expired
// evidence is pruned.
//
// Both of CometBFT's kinds are verified: duplicate votes against the set
// of their height, and light client attacks (types.LightClientAttackEvidence
// .Verify) against the chain's signed headers at the common height and at
// the conflicting block's height. A light client attack needs the
// canonical commit of those heights, which only the next block carries, so
// one that names the latest block is refused (ErrNoState) until that block
// is committed, as in CometBFT.
package evidence
