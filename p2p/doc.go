// Package p2p connects validators over go-libp2p and implements
// msgs.Transport (the engine's port to the network).
//
// A Transport owns a libp2p host (Ed25519 node key, TCP, Noise, a connection
// manager, a resource manager and a connection gater for banned peers) and
// speaks six stream protocols, each carrying uvarint-length-prefixed
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
//     them in order as CommitMsg, checking the commits of the heights
//     whose validator set it knows; the engine checks the rest, and a
//     block it refuses (ReportPeer) makes block sync drop what its sender
//     served and fetch it again. At a height with vote extensions the
//     server sends its extended commit (the seen commit with its
//     extensions) in place of the commit. A node at most catchUpHeights behind
//     instead gets the heights it lacks through consensus gossip, sent as
//     soon as its status shows it moved on. A fetched block of a height
//     the node has already decided is compared with its own: a different
//     block with a commit becomes light client attack evidence for the
//     evidence pool (conflict.go), and one whose commit does not hold
//     costs the peer.
//   - /bftnode/pex/1: peer exchange, so a node started with one bootstrap
//     address finds the rest.
//   - /bftnode/tx/1: transaction gossip. Each peer's writer streams the
//     mempool (Config.TxSource) in arrival order with a cursor, many txs
//     per frame, skipping the txs that peer sent us; see txs.go.
//   - /bftnode/tx/2: the same with announcements, offered first: a node
//     sends its own clients' txs in full and announces the txs peers
//     relayed to it by hash, Config.TxRelayDelay later; a peer that lacks
//     one asks for it. In a full mesh each tx then crosses each link to a
//     node that lacks it once; see txannounce.go. A pool that cannot
//     answer announcements (the app-side mempool) speaks only
//     /bftnode/tx/1.
//   - /bftnode/evidence/1: evidence gossip. Each peer's writer streams the
//     evidence pool's pending evidence (Config.EvidenceSource) with a
//     cursor, one tendermint.types.Evidence per frame, skipping what that
//     peer sent us; evidence the pool finds invalid bans its sender; see
//     evidence.go.
//   - /bftnode/snapshots/1: state sync (snapshots.go). One request and one
//     answer per stream: the snapshots the application lists (ServeSnapshots
//     registers the application as the source), or one chunk of one of
//     them. The client side implements statesync.Network.
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
// Each protocol owns its state and its lock, and none calls another
// protocol, the block store or the engine with its lock held:
//
//   - consensus gossip (consensusGossip): our status, each peer's consensus
//     position and what it is known to have, and the gossip store of
//     proposals, their block parts and votes. Block parts share this lock:
//     each is checked against the proposal held for its round, and
//     announced to the peers that lack it.
//   - block sync: the stored blocks each peer's status advertises, and our
//     height (syncView); the requests it serves (servingSlots); the
//     fetching state belongs to its one goroutine (runSync).
//   - the peer set (peerSet): the connected peers and their writers'
//     queues, for tx and evidence gossip, Peers and SendDirect.
//   - peer exchange holds no state; tx gossip runs per-peer goroutines
//     over the mempool's own locks; evidence gossip has evidenceKnown.
//   - the validator sets of the current and next heights (valSets), read
//     by consensus gossip and block sync; scores and bans (scores, gater).
//
// A peer's status frame updates consensus gossip and block sync in turn.
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
//	  block parts                -                              the proposal's Total (<= max parts)        parts that do not prove, or differ from the
//	                                                                                                       part held: dropped, 25 points against a
//	                                                                                                       proposal whose signature was checked and
//	                                                                                                       that the peer did not contradict
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
//	block sync fetched blocks    SyncBatch (16) heights and     SyncBatch x SyncParallel x 2 (128)         no more requests but for the next height to
//	                             maxSyncBytes/2/SyncParallel    heights, maxSyncBytes (8 MiB) of frames    deliver; commits of the current and next
//	                             (1 MiB) per request, one       pending or being read, plus one block      heights not signed by their validators:
//	                             block at least                 per request                                25 points; a bad frame: 25 points
//	block sync delivered         -                              maxSyncAhead (16) heights past the         delivery waits; a block the engine refuses
//	                                                            engine's                                   (ReportPeer): its sender's blocks dropped,
//	                                                                                                       the heights fetched again
//	block sync "missing"         -                              -                                          25 points if its status advertised them
//	block sync served            64 blocks per request, 2       16 requests at once, 30 s each             larger requests: refused, 25 points;
//	                             requests at once                                                          more at once: stream reset; past 30 s:
//	                                                                                                       stream reset
//	pex answer                   64 peers x 8 addresses         -                                          more: refused, 25 points
//	snapshots served             2 requests at once             16 requests at once                        more at once: stream reset; a malformed
//	                                                                                                       request: 25 points
//	snapshots answer (client)    10 snapshots, 64 KiB of hash   one per request                            more: refused, 25 points
//	                             and metadata each
//	chunk answer (client)        16 MiB + 1 KiB frame           chunk_fetchers requests at once            oversized or wrong: the chunk is asked of
//	                                                                                                       another peer, this one reported
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
