// Package rpc is bftnode's client-facing API: a JSON-RPC 2.0 server that
// follows CometBFT v0.38's endpoint names, parameters and result shapes, so
// that existing CometBFT clients work unchanged.
//
// The server ([NewServer], [Server.Serve]) answers JSON-RPC over HTTP POST
// (single requests and batches), the same methods over GET with URI query
// parameters (/status, /block?height=5, /broadcast_tx_commit?tx="a=b"), and
// a websocket at /websocket that also carries event subscriptions
// (subscribe, unsubscribe, unsubscribe_all). Results use CometBFT's JSON
// conventions: 64-bit integers as strings, hashes as upper-case hex, raw
// bytes as base64, times as RFC 3339 with nanoseconds. A node is named as
// CometBFT names it (node_info.id, the hex of its node key's address); its
// libp2p peer ID is node_info.other.libp2p_peer_id, and its listen addresses
// are multiaddrs ending in /p2p/<peer ID>.
//
// The server reads the chain through [Backend], an interface in domain
// terms that the node implements over its block store, mempool, application
// and consensus engine. Events come from the node's event bus (package
// eventbus); subscriptions and searches take a query of package
// eventbus/query ("tm.event='Tx' AND transfer.sender='alice'"); the node's
// tx and block index (package blockstore/index) backs Backend.Tx,
// Backend.TxSearch and Backend.BlockSearch. Consensus events (NewRoundStep,
// Vote, Polka, Lock, …) go out as CometBFT's event data types marshal
// (events_consensus_view.go). [Config.UI], when set, is served under /ui/.
//
// broadcast_evidence takes evidence as CometBFT's client sends it (its
// JSON) or as its protobuf encoding, and hands it to Backend.BroadcastEvidence
// (the node's evidence pool, whose refusal is an invalid-params error
// saying why); /block shows a block's evidence in CometBFT's
// JSON.
//
// A websocket connection runs up to 64 requests at once and answers each
// when it is done, with its id (CometBFT answers them one by one, in
// order); subscription requests take effect in the order sent. While 64
// run, the connection is not read further, so a client that floods
// requests or reads its answers slowly is held back by its socket.
//
// Limits (body size, batch size, open connections, subscriptions) are in
// [Config]. Errors follow JSON-RPC 2.0: -32700 malformed JSON, -32600 an
// invalid request, -32601 an unknown method, -32602 bad parameters, -32603
// a failure inside the node (including a recovered panic).
//
// [Client] is a small JSON-RPC client for the command line. The metrics and
// pprof listeners are package internal/telemetry.
package rpc
