package p2p

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// Protocol IDs of the streams the transport speaks.
const (
	ProtocolConsensus = "/bftnode/consensus/1"
	ProtocolBlockSync = "/bftnode/blocksync/1"
	ProtocolPex       = "/bftnode/pex/1"
	ProtocolTx        = "/bftnode/tx/1"
	// ProtocolTxAnnounce is tx gossip with announcements (txannounce.go).
	ProtocolTxAnnounce = "/bftnode/tx/2"
)

// Sentinel errors.
var (
	ErrConfig        = errors.New("p2p: invalid config")
	ErrPeerAddr      = errors.New("p2p: invalid peer address")
	ErrFrameTooLarge = errors.New("p2p: frame too large")
	ErrBadFrame      = errors.New("p2p: bad frame")
	ErrBadPart       = errors.New("p2p: bad block part")
	ErrBadProposal   = errors.New("p2p: proposal not signed by its round's proposer")
	ErrBadVote       = errors.New("p2p: vote not signed by the validator it names")
	ErrClosed        = errors.New("p2p: transport closed")
)

// ValidatorSource gives the validator set of a height with the proposer
// priorities it has at that height (blockstore.Store.LoadValidators).
type ValidatorSource interface {
	LoadValidators(height int64) (*types.ValidatorSet, error)
}

// Config configures a Transport. Zero values take the defaults below.
type Config struct {
	// ChainID is checked against peers' status and every block received.
	ChainID string
	// PrivKey is the node key (Ed25519); the peer ID derives from it.
	PrivKey ed25519.PrivateKey
	// ListenAddrs are TCP multiaddrs, /ip4/HOST/tcp/PORT or
	// /ip6/HOST/tcp/PORT (Noise and yamux); TCP is the only transport.
	ListenAddrs []string
	// PersistentPeers are dialed on start, redialed with backoff whenever
	// disconnected, and never trimmed by the connection manager.
	PersistentPeers []string
	// BootstrapPeers are dialed on start and redialed with backoff; pex
	// finds the rest of the network through them.
	BootstrapPeers []string
	// MaxPeers bounds the peers pex dials (default 50).
	MaxPeers int
	// Source serves block sync and catch-up; may be nil (serves nothing).
	Source msgs.BlockSource
	// Validators gives the validator set of the current and next heights,
	// loaded once per height: a peer's proposal is held only if its
	// round's proposer signed it. Nil, or a height whose set cannot be
	// loaded, holds proposals unverified for the engine to check (at most
	// maxProposalsPerHeight). blockstore.Store satisfies it.
	Validators ValidatorSource
	Logger     *slog.Logger

	// GossipInterval is how often each peer is checked for missing
	// votes and parts (default 100ms).
	GossipInterval time.Duration
	// PexInterval is how often pex asks peers for addresses (default 30s).
	PexInterval time.Duration
	// BanThreshold is the score at which a peer is banned (default 100).
	BanThreshold int
	// BanDuration is how long a banned peer is refused (default 10m).
	BanDuration time.Duration
	// ReportPenalty is the score added by ReportPeer (default 50).
	ReportPenalty int
	// SyncLag: block sync starts when a peer has had at least this many
	// more committed blocks than we do for a second (default 5). A node
	// up to four heights behind finishes them through consensus gossip
	// instead: peers keep the proposals, parts and votes of their four
	// previous heights (catchUpHeights) and send a lagging peer what it
	// lacks as soon as it announces each height.
	SyncLag int64
	// SyncBatch is the heights per block sync request (default 16);
	// SyncParallel the requests in flight across peers (default 4).
	SyncBatch    int
	SyncParallel int
	// MaxBlockBytes bounds a block (default 16 MiB).
	MaxBlockBytes int
	// MaxTxBytes bounds one gossiped transaction (default 1 MiB).
	MaxTxBytes int
	// TxSource is the pool whose txs are gossiped to peers (the mempool);
	// nil sends none.
	TxSource TxSource
	// EvidenceSource is the evidence pool gossiped to peers and given
	// theirs (see evidence.go); nil gossips none.
	EvidenceSource EvidenceSource
	// TxBatchDelay is how long a peer's tx writer lets new txs gather
	// before it sends them, so that a frame carries many (default 5ms).
	TxBatchDelay time.Duration
	// TxRelayDelay is how long after reading a tx that a peer sent us a
	// writer waits before it announces the tx to another peer, so that
	// the origin's own copy reaches that peer first (default 50ms; see
	// txannounce.go).
	TxRelayDelay time.Duration
	// InboundBuffer sizes the Inbound channel (default 1024).
	InboundBuffer int
	// SendQueue sizes each peer's outbound queue (default 4096 frames).
	SendQueue int
}

func (c *Config) setDefaults() error {
	if c.ChainID == "" {
		return fmt.Errorf("%w: empty chain ID", ErrConfig)
	}
	if len(c.PrivKey) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: node key is %d bytes, want %d", ErrConfig, len(c.PrivKey), ed25519.PrivateKeySize)
	}
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/26656"}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxPeers, 50)
	def(&c.BanThreshold, 100)
	def(&c.ReportPenalty, 50)
	def(&c.SyncBatch, 16)
	def(&c.SyncParallel, 4)
	def(&c.MaxBlockBytes, 16<<20)
	def(&c.MaxTxBytes, 1<<20)
	def(&c.InboundBuffer, 1024)
	def(&c.SendQueue, 4096)
	defd(&c.GossipInterval, 100*time.Millisecond)
	defd(&c.TxBatchDelay, 5*time.Millisecond)
	defd(&c.TxRelayDelay, 50*time.Millisecond)
	defd(&c.PexInterval, 30*time.Second)
	defd(&c.BanDuration, 10*time.Minute)
	if c.SyncLag <= 0 {
		c.SyncLag = catchUpHeights + 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Frame limits per protocol and message kind.
const (
	maxPartBytes      = types.BlockPartSizeBytes
	maxConsensusFrame = 4 << 20 // any consensus frame; parts are 64 KiB
	maxSmallFrame     = 1 << 10 // status, has, proposal
	maxVoteFrame      = maxSmallFrame + types.MaxVoteExtensionSize
	maxPartFrame      = maxPartBytes + 16<<10
	maxPexFrame       = 256 << 10
	maxRequestFrame   = 64
	maxSyncBatch      = 64
	maxPexPeers       = 64
	maxPexAddrs       = 8
)

// maxParts bounds a proposal's part count: MaxBlockBytes of txs plus room
// for the header and last commit.
func (c *Config) maxParts() uint32 {
	return uint32((c.MaxBlockBytes+1<<20)/maxPartBytes + 1)
}

func (c *Config) maxSyncFrame() int { return c.MaxBlockBytes + 1<<20 }
func (c *Config) maxTxFrame() int   { return 4*c.MaxTxBytes + 1<<10 }
