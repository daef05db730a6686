// Package bench measures a running bftnode network under load: it generates
// unique kvstore transactions of a fixed size, submits them over the
// JSON-RPC (broadcast_tx_async or broadcast_tx_sync) of one or more nodes,
// pipelined over websockets (CometBFT serves every method there; or one HTTP
// POST per tx), holding back while too many are pending (a tx the node
// refused for overload counts until the next block, as a client retrying
// then would), watches committed blocks (a websocket subscription to
// NewBlock, or polling), and reports committed tx/s (the median over
// 1-second windows and overall), the p50/p99 latency from submission to the
// client seeing the block, rejections, refusals for overload (apart from
// errors), blocks and mean block size.
//
// It can also start a throwaway local testnet of child `bftnode start`
// processes (StartLocal; StartNodes starts the processes of any node
// software that serves the same RPC, as `make bench-compare` does with
// CometBFT's) and report their CPU time, peak RSS and disk use per
// committed transaction, read from /proc and the data directories.
//
// `bftnode bench` is the command-line front end.
package bench
