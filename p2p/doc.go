// Package p2p connects validators over go-libp2p and implements
// msgs.Transport (the engine's port to the network).
//
// A Transport owns a libp2p host (Ed25519 node key, TCP, Noise, a connection
// manager, a resource manager and a connection gater for banned peers) and
// speaks four stream protocols, each carrying uvarint-length-prefixed
// protobuf frames defined in proto/bftnode/p2p:
//
//   - /bftnode/consensus/1: status, proposals, block parts with Merkle
//     proofs, votes and "has" announcements. Gossip is targeted, not a flood:
//     the transport keeps each peer's status and which votes and parts it is
//     known to have, and sends only what is missing. Blocks travel as parts,
//     each verified against the proposal's part set header as it arrives,
//     and reach the engine as one ProposalMsg (after a ProposalHeaderMsg
//     for the proposal alone). A peer's proposal, parts and votes are held
//     unverified and relayed or announced to other peers only once the
//     engine has checked their signatures and relays them (Transport.Relay), so
//     a forgery is never forwarded and an honest relayer is never blamed
//     for one. Own messages (Broadcast) are relayable at once.
//   - /bftnode/blocksync/1: a node far behind its peers fetches committed
//     blocks with their commits from several peers in parallel and delivers
//     them in order as CommitMsg.
//   - /bftnode/pex/1: peer exchange, so a node started with one bootstrap
//     address finds the rest.
//   - /bftnode/tx/1: transaction gossip. Each peer's writer streams the
//     mempool (Config.TxSource) in arrival order with a cursor, many txs
//     per frame, skipping the txs that peer sent us; see txs.go.
//
// Every inbound frame is size-checked, decoded and checked (chain ID, height
// window) at this edge; the engine only sees domain types. Bad frames and
// ReportPeer calls lower a peer's score, and past a threshold the peer is
// disconnected and refused for a while.
package p2p
