package p2p

import "sync/atomic"

// Message kinds counted by Stats.
const (
	KindStatus = iota
	KindProposal
	KindBlockPart
	KindVote
	KindHasVote
	KindHasBlock
	KindBlockSync
	KindPex
	KindTx
	KindHasPart
	KindEvidence
	KindSnapshots
	numKinds
)

// KindName names a kind indexing Stats.Sent and Stats.Received.
func KindName(kind int) string {
	switch kind {
	case KindStatus:
		return "status"
	case KindProposal:
		return "proposal"
	case KindBlockPart:
		return "block_part"
	case KindVote:
		return "vote"
	case KindHasVote:
		return "has_vote"
	case KindHasBlock:
		return "has_block"
	case KindBlockSync:
		return "block_sync"
	case KindPex:
		return "pex"
	case KindTx:
		return "tx"
	case KindHasPart:
		return "has_part"
	case KindEvidence:
		return "evidence"
	case KindSnapshots:
		return "snapshots"
	}
	return "unknown"
}

// NumKinds is the number of message kinds.
const NumKinds = numKinds

// MsgStats counts frames and their bytes (length prefix included).
type MsgStats struct {
	Frames, Bytes uint64
}

// Stats is a snapshot of the transport's counters, for metrics.
type Stats struct {
	BytesSent, BytesReceived uint64
	Sent, Received           [numKinds]MsgStats
	// Duplicates received: frames for something this node already had.
	DuplicateVotes, DuplicateParts, DuplicateProposals uint64
	// DroppedSends are frames not queued because a peer's queue was full.
	DroppedSends uint64
	// BadFrames are inbound frames refused (size, decoding, checks).
	BadFrames uint64
	// Bans counts peers banned; Peers is the current peer count.
	Bans  uint64
	Peers int
	// SyncedBlocks counts blocks delivered by block sync.
	SyncedBlocks uint64
	// SyncStarts counts the times block sync started (this node was
	// Config.SyncLag or more blocks behind a peer).
	SyncStarts uint64
	// DroppedRelays are the engine's relay verdicts dropped because the
	// relay queue was full: those messages stay unrelayed.
	DroppedRelays uint64
}

type counters struct {
	bytesSent, bytesRecv  atomic.Uint64
	sentFrames, sentBytes [numKinds]atomic.Uint64
	recvFrames, recvBytes [numKinds]atomic.Uint64
	dupVotes, dupParts    atomic.Uint64
	dupProposals          atomic.Uint64
	dropped, badFrames    atomic.Uint64
	bans, synced          atomic.Uint64
	droppedRelays         atomic.Uint64
	syncStarts            atomic.Uint64
}

func (c *counters) sent(kind, n int) {
	c.bytesSent.Add(uint64(n))
	c.sentFrames[kind].Add(1)
	c.sentBytes[kind].Add(uint64(n))
}

func (c *counters) recv(kind, n int) {
	c.bytesRecv.Add(uint64(n))
	c.recvFrames[kind].Add(1)
	c.recvBytes[kind].Add(uint64(n))
}

func (c *counters) snapshot() Stats {
	s := Stats{
		BytesSent:          c.bytesSent.Load(),
		BytesReceived:      c.bytesRecv.Load(),
		DuplicateVotes:     c.dupVotes.Load(),
		DuplicateParts:     c.dupParts.Load(),
		DuplicateProposals: c.dupProposals.Load(),
		DroppedSends:       c.dropped.Load(),
		BadFrames:          c.badFrames.Load(),
		Bans:               c.bans.Load(),
		SyncedBlocks:       c.synced.Load(),
		DroppedRelays:      c.droppedRelays.Load(),
		SyncStarts:         c.syncStarts.Load(),
	}
	for k := range numKinds {
		s.Sent[k] = MsgStats{Frames: c.sentFrames[k].Load(), Bytes: c.sentBytes[k].Load()}
		s.Received[k] = MsgStats{Frames: c.recvFrames[k].Load(), Bytes: c.recvBytes[k].Load()}
	}
	return s
}
