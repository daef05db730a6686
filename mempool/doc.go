// Package mempool holds the transactions a node has accepted but not yet
// seen committed, and hands them to the block proposer and to tx gossip.
//
// A transaction enters through [Mempool.CheckTx] (or [Mempool.CheckTxFrom]
// when a peer sent it). It is admitted once it passes, in order:
//
//  1. the size limit ([ErrTxTooLarge]);
//  2. the cache of recently seen tx hashes (at least the CacheSize most
//     recent, at most twice as many), so each tx is checked by the
//     application at most once while it is remembered, then the pool itself
//     (the cache may be the smaller) ([ErrTxInCache]);
//  3. the committed-tx index ([Committed]), consulted for every tx that is
//     in neither, so a tx that is already in a block is never admitted
//     again, however long ago it left the cache ([ErrTxCommitted]);
//  4. the count and byte limits of the pool ([ErrMempoolFull]), which count
//     the room held by [Reservation]s as taken, and admission by wait
//     (Config.MaxWait, admission.go): once txs of a block waited too
//     long, the pool takes no more txs than blocks commit in MaxWait.
//     These are checked first right after the cache, before waiting for
//     the update lock, so a flood is refused at once even while a block
//     commits, and again under the lock;
//  5. the application's CheckTx ([Checker]); a non-zero code rejects the tx
//     ([ErrRejected]) and forgets its hash so that it may be resubmitted.
//     A peer's tx refused this way is remembered until the next
//     [Mempool.Update] (at least CacheSize hashes): sent again by any peer,
//     it is refused with ErrRejected before step 2, without asking the
//     application. A local submission always gets the application's
//     answer.
//
// [Mempool.Reserve] holds room for one tx before it is checked, so that the
// RPC's broadcast_tx_async can answer OK and check in the background without
// the tx ever being refused for lack of room: [Reservation.CheckTx] admits
// into that room, and frees it if the tx is refused for another reason.
//
// The proposer takes transactions with [Mempool.ReapMaxBytesMaxGas]: by the
// priority the application gave in CheckTx, highest first, and in arrival
// order among equal priorities (so first-come-first-served when the
// application gives none). Gossip streams transactions in arrival order with
// [Mempool.TxsAfter], which skips those a peer is known to have: it sent
// or announced them ([Mempool.Announced]) or asked for them
// ([Mempool.Wanted]).
//
// # Locking and the commit protocol
//
// Two locks are involved. The update lock is a sync.RWMutex: every CheckTx
// of a tx new to the cache holds it for reading for its whole duration,
// including the application call, so many CheckTx calls run in parallel (a
// tx the cache remembers is refused without it, so duplicates from peers
// never wait for a block commit). The node holds it for writing,
// through [Mempool.Lock] and [Mempool.Unlock], from just before it commits a
// block until [Mempool.Update] returns:
//
//	mp.Lock()
//	// save the block, FinalizeBlock and Commit on the application
//	err := mp.Update(ctx, height, block.Txs, true)
//	mp.Unlock()
//
// so no CheckTx runs against an application state that is half-way through a
// block, and none can slip a tx of the block in while it is being committed.
// A second, short-held mutex guards the tx list itself; it is never held
// while the application runs, so reaping and gossip are not blocked by
// CheckTx or by a recheck.
//
// After each Update, [Mempool.TxsAvailable] receives one notification as soon
// as the pool is non-empty, telling consensus it may propose.
//
// # App-side mempool
//
// [AppPool] replaces the Mempool when the application keeps its own
// ([mempool] type = "app", CometBFT v0.40.0's app-side mempool). It holds
// no txs: [AppPool.CheckTx] hands a submitted tx to the application's
// CheckTx, [AppPool.InsertTx] a peer's tx to its InsertTx, each at most once
// while its hash is remembered (seen_cache_size hashes at least); a tx the
// application refuses is forgotten after check_tx_retry_delay (a tenth of
// it for a code of [CodeRetry] or more) so that it may be sent again.
// [AppPool.Run] calls ReapTxs every reap_interval, and [AppPool.TxsAfter]
// streams each reaped tx to gossip once. To the engine it is an empty pool
// that never reports txs, so the proposer's PrepareProposal gets none.
package mempool
