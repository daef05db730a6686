// Package statesync restores a new node's application from a snapshot that
// peers serve, instead of replaying the chain from genesis (ABCI's state
// sync, as CometBFT v0.40.0 does it).
//
// A [Syncer] asks every peer for its snapshots for DiscoveryTime (pool.go
// keeps them, at most MaxSnapshotsPerPeer a peer, ranked by height, then
// format, then how many peers serve them), then for the best one:
//
//  1. the light client vouches for its height ([Verifier]: the app hash in
//     the verified header of the next height); a height it cannot verify
//     rejects the snapshot before the application hears of it;
//  2. OfferSnapshot, with that app hash: ACCEPT restores it, ABORT stops
//     state sync (ErrAborted), REJECT rejects the snapshot, REJECT_FORMAT
//     every snapshot of its format, REJECT_SENDER every peer that serves
//     it;
//  3. the chunks are fetched by ChunkFetchers fetchers in parallel, each
//     from the least loaded peer serving the snapshot, and applied in
//     order (restore.go, queue.go). A peer that errs, answers wrongly or
//     not within ChunkRequestTimeout is reported (Network.ReportPeer) and
//     the chunk asked of another. Only chunks within 2×ChunkFetchers of
//     the lowest unapplied one are fetched, so memory stays bounded.
//     ApplySnapshotChunk's refetch_chunks are fetched and applied again;
//     its reject_senders are reported, never asked again, and the chunks
//     they sent that are not applied yet are dropped. ACCEPT goes on,
//     RETRY applies the chunk again, RETRY_SNAPSHOT restores the snapshot
//     again from the start (at most three times), REJECT_SNAPSHOT rejects
//     it, ABORT stops;
//  4. Info must then report the snapshot's height and the verified app
//     hash; otherwise the snapshot is rejected (ErrAppHashMismatch) and the
//     peers that served it reported.
//
// A rejected snapshot makes way for the next; when none is left, the
// Syncer looks again for DiscoveryTime, then fails with ErrNoSnapshots.
// Progress is logged once a second: the snapshot, chunks done of total
// and the rate.
//
// The package does no network or disk I/O itself: Network (package p2p's
// /bftnode/snapshots/1), App (the application's snapshot connection) and
// Verifier (package node over the light client) are its ports. Package
// node bootstraps the block store and state at the restored height.
package statesync
