package rpc

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"time"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// Backend is what the RPC server reads from and writes to: the node
// implements it by wiring its block store, mempool, application connection,
// consensus engine and event bus. Every method may be called concurrently
// from many requests, and should honour ctx. Errors reach the client as
// JSON-RPC internal errors (-32603) with the error's text; wrap ErrNotFound
// for a missing block, result or transaction.
//
// Heights passed in are always explicit and within [base, latest] of
// Heights: the server resolves "latest" and checks the range first.
type Backend interface {
	// Heights returns the lowest and highest heights of stored blocks, both
	// 0 when no block is stored yet.
	Heights(ctx context.Context) (base, latest int64, err error)
	// Status describes the node, its sync state and its validator key.
	Status(ctx context.Context) (*Status, error)
	// NetInfo describes the node's listeners and peers.
	NetInfo(ctx context.Context) (*NetInfo, error)
	// Genesis returns the genesis document as JSON, sent to clients as is.
	Genesis(ctx context.Context) (json.RawMessage, error)

	// BlockMeta returns the metadata of the block at height.
	BlockMeta(ctx context.Context, height int64) (*blockstore.BlockMeta, error)
	// Block returns the block at height and its ID.
	Block(ctx context.Context, height int64) (*types.Block, types.BlockID, error)
	// BlockByHash returns the block with this header hash and its ID.
	BlockByHash(ctx context.Context, hash types.Hash) (*types.Block, types.BlockID, error)
	// BlockResults returns the application's FinalizeBlock response for
	// the block at height.
	BlockResults(ctx context.Context, height int64) (*abci.ResponseFinalizeBlock, error)
	// Commit returns the commit that decided the block at height; canonical
	// is true when it is the one included in the next block, false when it
	// is the node's own seen commit for the latest block.
	Commit(ctx context.Context, height int64) (commit *types.Commit, canonical bool, err error)
	// Validators returns the validator set that validated height.
	Validators(ctx context.Context, height int64) (*types.ValidatorSet, error)
	// ConsensusParams returns the consensus parameters in force at height.
	ConsensusParams(ctx context.Context, height int64) (*tmtypes.ConsensusParams, error)
	// ConsensusState returns a summary of the current round.
	ConsensusState(ctx context.Context) (*ConsensusState, error)

	// ABCIInfo asks the application for its Info.
	ABCIInfo(ctx context.Context) (*abci.ResponseInfo, error)
	// ABCIQuery forwards a query to the application.
	ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error)
	// CheckTx runs the application's CheckTx on tx without adding it to
	// the mempool.
	CheckTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error)
	// BroadcastTx submits tx to the mempool (and so to peers) and returns
	// its CheckTx result; a non-zero code means the tx was refused.
	BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error)
	// ReserveMempool holds room in the mempool for one tx of size bytes,
	// or returns an error saying why there is none (the mempool is full,
	// the tx too large). broadcast_tx_async reserves before it answers, so
	// that a tx it answered OK for is never dropped for lack of room.
	ReserveMempool(size int) (MempoolReservation, error)
	// UnconfirmedTxs returns up to limit mempool txs (all when limit <= 0)
	// and the mempool's totals.
	UnconfirmedTxs(ctx context.Context, limit int) (*UnconfirmedTxs, error)

	// BroadcastEvidence verifies evidence of misbehaviour and adds it to
	// the node's evidence pool; the error says why it was refused, and
	// wraps ErrInvalidParams when the evidence is at fault.
	BroadcastEvidence(ctx context.Context, ev types.Evidence) error

	// Tx returns the committed tx with this hash (SHA-256 of its bytes),
	// with its result; an error wrapping ErrNotFound when there is none.
	Tx(ctx context.Context, hash types.Hash) (*eventbus.TxResult, error)
	// TxSearch returns all committed txs whose events match q, in
	// ascending (height, index) order. An Index can implement it.
	TxSearch(ctx context.Context, q *query.Query) ([]*eventbus.TxResult, error)
	// BlockSearch returns the heights of all blocks whose FinalizeBlock
	// events match q, ascending. An Index can implement it.
	BlockSearch(ctx context.Context, q *query.Query) ([]int64, error)

	// Subscribe delivers events matching q until ctx ends, then closes the
	// channel; it also closes it when the subscriber falls too far behind.
	// EventBus implements it.
	Subscribe(ctx context.Context, q *query.Query) (<-chan eventbus.Event, error)
}

// MempoolReservation is room held in the mempool for one tx.
type MempoolReservation interface {
	// BroadcastTx is Backend.BroadcastTx into the reserved room, for a tx
	// of the reserved size: it is never refused for lack of room. The room
	// is freed if the tx is refused for another reason.
	BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error)
	// Release frees the room if no tx has taken it.
	Release()
}

// ErrNotFound is wrapped by Backend errors for a missing block, result or
// transaction.
var ErrNotFound = errors.New("not found")

// NodeInfo describes a node (ours in Status, a peer's in NetInfo).
type NodeInfo struct {
	ID         string // the CometBFT node ID: hex of the node key's address ("" when unknown)
	PeerID     string // the libp2p peer ID, which peers dial
	ListenAddr string // a multiaddr ending in /p2p/<PeerID>
	Network    string // the chain ID
	Version    string // software version
	AppVersion uint64 // the application's protocol version
	Moniker    string
	RPCAddress string
	TxIndex    bool
}

// SyncInfo describes the blocks a node has.
type SyncInfo struct {
	LatestBlockHash     types.Hash
	LatestAppHash       []byte
	LatestBlockHeight   int64
	LatestBlockTime     time.Time
	EarliestBlockHash   types.Hash
	EarliestAppHash     []byte
	EarliestBlockHeight int64
	EarliestBlockTime   time.Time
	CatchingUp          bool
}

// ValidatorInfo is the node's own validator key and power (0 when it is
// not in the set).
type ValidatorInfo struct {
	Address     types.Address
	PubKey      ed25519.PublicKey
	VotingPower int64
}

// Status is the result of Backend.Status.
type Status struct {
	Node      NodeInfo
	Sync      SyncInfo
	Validator ValidatorInfo
}

// Peer is one connected peer.
type Peer struct {
	Node       NodeInfo
	IsOutbound bool
	RemoteIP   string
}

// NetInfo is the result of Backend.NetInfo.
type NetInfo struct {
	Listening bool
	Listeners []string
	Peers     []Peer
}

// RoundStep numbers the steps of a consensus round as CometBFT does.
type RoundStep uint8

// The steps of a round, as CometBFT reports them in consensus_state.
const (
	StepNewHeight     RoundStep = 1
	StepNewRound      RoundStep = 2
	StepPropose       RoundStep = 3
	StepPrevote       RoundStep = 4
	StepPrevoteWait   RoundStep = 5
	StepPrecommit     RoundStep = 6
	StepPrecommitWait RoundStep = 7
	StepCommit        RoundStep = 8
)

// ConsensusState summarises the consensus engine's current round.
type ConsensusState struct {
	Height            int64
	Round             int32
	Step              RoundStep
	StartTime         time.Time
	ProposalBlockHash types.Hash
	LockedBlockHash   types.Hash
	ValidBlockHash    types.Hash
	ProposerAddress   types.Address
	ProposerIndex     int32
}

// UnconfirmedTxs is the result of Backend.UnconfirmedTxs.
type UnconfirmedTxs struct {
	Txs        [][]byte // at most the requested number
	Total      int      // txs in the mempool
	TotalBytes int64    // their total size
}
