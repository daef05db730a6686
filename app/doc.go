// Package app defines how bftnode talks to the replicated application: the
// [Application] interface, with one method per ABCI 2.0 call, and
// [BaseApplication], whose defaults let a small application implement only
// the calls it cares about.
//
// The node drives an Application the same way whether it runs in the node's
// process or behind an ABCI socket: package app/abcisocket serves any
// Application on tcp:// or unix:// addresses, and its Client implements
// Application over such a socket, wire-compatible with CometBFT v0.38
// and v0.40 applications. Package app/kvstore is a small example application.
//
// The messages are the ABCI protobuf types of package
// github.com/bftnode/bftnode/proto/tendermint/abci.
//
// # Call order and concurrency
//
// The node calls InitChain once at genesis, then for each height
// PrepareProposal (when proposing) or ProcessProposal, optionally ExtendVote
// and VerifyVoteExtension, then FinalizeBlock followed by Commit. Those
// consensus calls come one at a time, but CheckTx (from the mempool), Info and
// Query (from RPC) and the snapshot calls (from state sync) may arrive
// concurrently with them, so an Application must be safe for concurrent use.
//
// With [mempool] type = "app" (CometBFT v0.40.0's app-side mempool) the
// application keeps the mempool: transactions submitted over RPC reach its
// CheckTx, those from peers its InsertTx, the node gossips what ReapTxs
// returns every reap_interval, and PrepareProposal gets no transactions
// (the application fills the block). Otherwise InsertTx and ReapTxs are
// never called.
//
// A returned error means the application could not answer at all; the node
// treats it as fatal, except from InsertTx and ReapTxs (the tx is dropped,
// the reap tried again). A transaction or proposal the application rejects is
// not an error: it is reported in the response (a non-zero Code, a REJECT
// status).
package app
