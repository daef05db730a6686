// Package msgs is the seam between the consensus engine and the network:
// the consensus messages they exchange (a sealed Msg type), the ports each
// side implements (Transport, BlockSource) and the one policy for how far
// ahead of this node a peer's message may be (Window).
//
// It depends only on package types, so that package p2p and the engine
// meet here without importing each other. The engine's outputs towards the
// network are its own messages (Transport.Broadcast), the verdict that a
// peer's message verified and may be relayed (Transport.Relay) and its
// position (Transport.SetStatus); its inputs are Inbound messages.
package msgs
