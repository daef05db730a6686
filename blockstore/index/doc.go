// Package index is the persistent tx and block index that backs the RPC's
// tx, tx_search and block_search: committed txs and blocks by their event
// attributes, in a Pebble database of its own beside the block store.
//
// The node opens it with [Open] and calls [Index.IndexBlock] for every
// committed block. As in CometBFT's kv indexer, only application
// attributes marked index=true are searchable, besides tx.hash and
// tx.height for txs and block.height for blocks. A tx's record points into
// the block store ([Options.Blocks]) rather than copying the tx and its
// result; an index opened without a block store keeps copies. Searches
// ([Index.TxSearch], [Index.BlockSearch]) take a query of package
// [github.com/bftnode/bftnode/eventbus/query] and plan a range scan from
// its most selective condition (keys.go describes the key layout).
//
// [Index.Prune] deletes what the index holds below a height, before the
// block store prunes the same heights.
//
// Everything in the index can be rebuilt from the block store, so it
// writes without fsync: after a crash it may be behind, and
// [Index.LastIndexed] says from where to catch up.
package index
