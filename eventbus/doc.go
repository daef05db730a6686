// Package eventbus carries the node's events to whoever subscribed to them:
// the RPC's websocket subscriptions and broadcast_tx_commit.
//
// An [Event] is one published event (NewBlock, NewBlockHeader, Tx, or one
// of the consensus events of consensus.go: NewRoundStep, Vote, Polka, Lock
// and the others CometBFT names) with its attributes under CometBFT's
// composite keys ("tm.event", "tx.hash", "<event type>.<attribute key>"). [BlockEvents] builds the events of a
// committed block; the node publishes them with [Bus.PublishBlock], and a
// subscriber receives those its [query.Query] matches. Publishing never
// blocks: a subscriber that falls [DefaultSubscriberBuffer] events behind
// is dropped, as CometBFT drops a client that does not pull its messages
// fast enough. [Bus.Wants] tells a publisher whether anyone may read events
// of a type, so consensus events cost nothing while nobody follows them.
// [TxResult] is a committed tx with its place and result, as
// Tx events and the tx index carry it.
//
// The query language itself is package [github.com/bftnode/bftnode/eventbus/query].
package eventbus
