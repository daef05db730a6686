// Package node assembles a bftnode validator (or full node) from its
// configuration: the block store, the consensus WAL and signer (the key
// file, or a remote signer that dials in to priv_validator_laddr), the
// application connection (in-process kvstore or an ABCI socket), the
// mempool, the evidence pool (<data>/evidence), the libp2p transport, the consensus engine, the JSON-RPC server
// and the metrics listener. It owns their lifetimes: New opens them, Run
// starts them and stops them all in reverse order when its context ends or
// when one of them fails (a dead application stops the node rather than let
// it go on without it). Its Pebble databases (block store, tx index,
// evidence, built-in kvstore) share one block cache of [storage]
// block_cache_mb.
//
// The packages it wires know nothing of each other; the small adapters that
// join them live here (app.go: the application connections and the
// mempool's checker, and the application's InsertTx and ReapTxs for an
// app-side mempool, [mempool] type = "app", which replaces the mempool as
// the engine's, the transport's tx source and the RPC's broadcast target; backend.go: the RPC backend; events.go: committed
// blocks to the RPC event bus and index; consensus_events.go: the
// consensus core's steps, observed through engine.Deps.WrapCore, as
// CometBFT's consensus events on the bus (NewRoundStep, Vote, Polka, Lock,
// …); evidence.go: the evidence pool's view of the chain, the pool as the
// source and sink of evidence gossip, and its Prometheus series
// bftnode_evidence_pending, _pending_bytes, _committed_total and
// _rejected_total by reason; params.go: consensus parameters by height for
// the RPC; prune.go: the background pruner, which deletes old blocks,
// results and index entries below the retain height the application and
// [storage] retain_blocks allow; statesync.go: state sync at start, with
// [statesync] enable and no blocks yet: package statesync restores the
// application from peers' snapshots, a light client over rpc_servers
// vouches for the snapshot's app hash, and the block (with its commit) and
// state of the snapshot's height are saved before the engine starts, so
// block sync and consensus go on from there; with no usable snapshot the
// node stops, or with blocksync_fallback block-syncs from genesis). Every
// node serves its application's snapshots to peers. With [rpc] ui on, the RPC server also
// serves the web view of package ui.
package node
