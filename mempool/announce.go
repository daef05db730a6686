package mempool

// Tx gossip sends the txs that local clients gave us, announces by hash
// those that peers relayed to us, and sends those to the peers that ask
// (see the p2p package); these are the pool's side of that exchange.

// LocalTxsAfter is TxsAfter for the txs that no peer is known to have: those
// local clients gave us that no peer sent, announced or asked for yet.
func (m *Mempool) LocalTxsAfter(after uint64, limit int) TxBatch {
	return m.txsAfter(after, limit, func(e *entry) bool { return len(e.senders) == 0 })
}

// RelayedTxsAfter is TxsAfter for the txs that some peers are known to have
// (they sent, announced or asked for them), but not peer.
func (m *Mempool) RelayedTxsAfter(after uint64, peer string, limit int) TxBatch {
	return m.txsAfter(after, limit, func(e *entry) bool { return len(e.senders) > 0 && !e.sentBy(peer) })
}

// Announced records that peer has the txs of hashes (it announced them),
// so that gossip does not offer those in the pool back to it, and returns
// the hashes that this node has not seen recently: neither pooled nor
// remembered by the cache (being checked, committed or refused lately).
func (m *Mempool) Announced(peer string, hashes [][32]byte) (unknown [][32]byte) {
	m.txsMtx.Lock()
	for _, h := range hashes {
		if e, ok := m.byHash[h]; ok {
			e.addSender(peer)
			continue
		}
		unknown = append(unknown, h)
	}
	m.txsMtx.Unlock()
	n := 0
	for _, h := range unknown {
		if !m.cache.contains(h) && !m.rejected.contains(h) {
			unknown[n] = h
			n++
		}
	}
	return unknown[:n]
}

// Wanted returns the txs of hashes that are in the pool and that peer is
// not known to have, in the order of hashes, and records that peer has
// them now: a peer that asks for a tx again gets it once.
func (m *Mempool) Wanted(peer string, hashes [][32]byte) []Tx {
	m.txsMtx.Lock()
	defer m.txsMtx.Unlock()
	var txs []Tx
	for _, h := range hashes {
		if e, ok := m.byHash[h]; ok && !e.sentBy(peer) {
			txs = append(txs, Tx{Seq: e.seq, Hash: e.hash, Tx: e.tx})
			e.addSender(peer)
		}
	}
	return txs
}
