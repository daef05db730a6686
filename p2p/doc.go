// Package p2p connects validators over go-libp2p and implements
// msgs.Transport (the engine's port to the network).
//
// A Transport owns a libp2p host (Ed25519 node key, TCP, Noise, a connection
// manager, a resource manager and a connection gater for banned peers) and
// speaks five stream protocols, each carrying uvarint-length-prefixed
// protobuf frames defined in proto/bftnode/p2p:
//
//   - /bftnode/consensus/1: status, proposals, block parts with Merkle
//     proofs, votes and "has" announcements. Gossip is targeted, not a flood:
//     the transport keeps each peer's status and which votes and parts it is
//     known to have, and sends only what is missing. Blocks travel as parts,
//     each verified against the proposal's part set header as it arrives,
//     and reach the engine as one ProposalMsg (after a ProposalHeaderMsg
//     for the proposal alone). A peer's proposal, parts and votes are
//     relayed or announced to other peers only once the engine has
//     checked them and relays them (Transport.Relay), so
//     a forgery is never forwarded and an honest relayer is never blamed
//     for one. Own messages (Broadcast) are relayable at once.
//   - /bftnode/blocksync/1: a node far behind its peers fetches committed
//     blocks with their commits from several peers in parallel and delivers
//     them in order as CommitMsg; at a height with vote extensions the
//     server sends its extended commit (the seen commit with its
//     extensions) in place of the commit. A node at most catchUpHeights behind
//     instead gets the heights it lacks through consensus gossip, sent as
//     soon as its status shows it moved on.
//   - /bftnode/pex/1: peer exchange, so a node started with one bootstrap
//     address finds the rest.
//   - /bftnode/tx/1: transaction gossip. Each peer's writer streams the
//     mempool (Config.TxSource) in arrival order with a cursor, many txs
//     per frame, skipping the txs that peer sent us; see txs.go.
//   - /bftnode/evidence/1: evidence gossip. Each peer's writer streams the
//     evidence pool's pending evidence (Config.EvidenceSource) with a
//     cursor, one tendermint.types.Evidence per frame, skipping what that
//     peer sent us; evidence the pool finds invalid bans its sender; see
//     evidence.go.
//
// Every inbound frame is size-checked, decoded and checked (chain ID, the
// admission window msgs.Status.Admits, validator index) at this edge; the
// engine only sees domain types. With Config.Validators (the node passes
// its block store) the signatures of proposals and votes of the current
// and next heights are checked here too, so a forgery costs its sender
// before anything is held or queued for the engine. Bad frames and ReportPeer calls lower a
// peer's score, and past a threshold the peer is disconnected and refused
// for a while. Before the engine's first status (app handshake and WAL
// replay) no consensus message is admitted.
//
// # Locks
//
// The transport's one mutex guards consensus gossip only: our status, each
// peer's state and the gossip store. Transaction gossip runs in per-peer
// goroutines over the mempool's own locks, peer exchange holds no state,
// block sync counts the requests it serves under its own lock
// (servingSlots), and scores and bans have theirs (scores, gater).
// Signatures are checked outside any lock.
//
// # What peers can make this node hold
//
// Every structure filled from peer input, with its bounds ("window": the
// current height up to msgs.RoundsAhead rounds ahead, the next height's
// first msgs.RoundsAhead rounds) and what happens at the bound:
//
//	structure                    per peer                       total                                     at the bound
//	-------------------------    ---------------------------    --------------------------------------    ------------------------------------------
//	frame being read             1 frame: 1 KiB small, a vote   one per stream                             oversized: stream reset, 100 points
//	                             1 KiB + 1 MiB extension, a
//	                             part + 16 KiB, MaxTxBytes*2 tx
//	heights (gossip store)       -                              window heights (2) + catchUpHeights (4)    older heights pruned on SetStatus
//	  proposals                  -                              one per round in the window, signed by     bad signature: refused, 25 points; outside
//	                                                            its proposer (Config.Validators); set      the window: dropped, free; set unknown:
//	                                                            unknown: 64 per height, unverified         held for the engine to check
//	  block parts                -                              the proposal's Total (<= max parts)        parts that do not prove: dropped, 25
//	                                                                                                       points against a proposal whose signature
//	                                                                                                       was checked and that the peer did not
//	                                                                                                       contradict
//	  votes                      -                              window rounds x 2 types x set size,        outside window: dropped, free; index past
//	                                                            signature checked when the set is known    the set or bad signature: 25 points
//	peerState.has (announced)    65536 per height and kind      peers x that                               not recorded (the peer may get a repeat)
//	peer outbound queue          SendQueue frames (4096)        peers x that                               frame dropped (DroppedSends)
//	Inbound channel              -                              InboundBuffer (1024)                       the reading stream waits (backpressure)
//	relay verdicts (Relay)       -                              relayQueue (4096)                          verdict dropped (DroppedRelays), unrelayed
//	inbound tx frames            -                              64 frames                                  the reading stream waits
//	inbound evidence             1 piece (1 MiB frame) at a     one per stream                             the reading stream waits; invalid: ban
//	                             time, verified before the next
//	evidence known per peer      1024 hashes                    connected peers x that                     oldest forgotten (the peer may get a repeat)
//	txs failing CheckTx          -                              -                                          2 points each (node.pumpTxs); the mempool
//	                                                                                                       refuses one again until the next block
//	                                                                                                       without asking the app
//	block sync pending blocks    SyncBatch (16) per request     SyncBatch x SyncParallel x 2 (128)         no more requests until delivered
//	block sync "missing"         -                              -                                          25 points if its status advertised them
//	block sync served            64 blocks per request, 2       16 requests at once                        larger requests: refused, 25 points;
//	                             requests at once                                                          more at once: stream reset
//	pex answer                   64 peers x 8 addresses         -                                          more: refused, 25 points
//	scores, bans                 one entry per peer ID / IP     swept every PexInterval                    ban (peer ID and its IP) at BanThreshold
//	                                                                                                       for BanDuration
//	peer IDs per remote IP       maxIDsPerIP (8) per 10 min     swept every PexInterval                    a further new ID from that IP is refused
//	libp2p peerstore             key, protocols, metadata       connected peers; addresses until their     removed when the peer disconnects
//	                                                            TTL
//	connections                  8 per IPv4 address (libp2p's   MaxPeers via the connection manager        refused / trimmed by libp2p
//	                             resource manager)
//
// Loopback addresses are exempt from the per-IP limits and IP bans.
//
// Block sync starts only when a peer has had Config.SyncLag (5) or more
// blocks this node lacks for a second; a node fewer heights behind
// finishes them through gossip (Stats.SyncStarts counts the starts),
// unless its height has not moved for 3 s while a peer is ahead: then it
// block-syncs (gossip of a height whose proposer equivocated can stall).
package p2p
