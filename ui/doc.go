// Package ui is bftnode's web view of consensus: one page, with its script
// and style embedded in the binary (no CDN, no build step), that shows per
// validator its height, round and step, a grid of validators × rounds with
// each prevote and precommit as it arrives, the proposer and proposal, locks,
// valid blocks and timeouts, and charts of block intervals and txs per block.
//
// Live, the node serves it under /ui/ of its RPC address when [rpc] ui is
// on; the page follows the node over the websocket, subscribed to
// CometBFT's consensus events. With a trace of `bftnode sim --trace`
// (`bftnode ui FILE`, or the page's file picker) it plays the simulated run
// with a slider instead, and shows where two validators decided differently.
package ui
