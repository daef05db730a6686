package app

import (
	"context"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// Application is a replicated state machine driven by the node through the
// ABCI 2.0 methods. See the package documentation for call order and
// concurrency.
type Application interface {
	// Info returns the last committed height and app hash, so the node can
	// replay the blocks the application has not seen.
	Info(ctx context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error)
	// Query reads committed application state.
	Query(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error)
	// CheckTx decides whether a transaction may enter the mempool.
	CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error)
	// InitChain is called once, at genesis.
	InitChain(ctx context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error)
	// PrepareProposal lets the proposer choose and order the block's
	// transactions, within req.MaxTxBytes.
	PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error)
	// ProcessProposal accepts or rejects a proposed block.
	ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error)
	// FinalizeBlock executes a decided block and returns its results and the
	// new app hash. The state must not be persisted before Commit.
	FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error)
	// ExtendVote returns data to attach to this validator's precommit.
	ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error)
	// VerifyVoteExtension checks another validator's vote extension.
	VerifyVoteExtension(ctx context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error)
	// Commit persists the state produced by the last FinalizeBlock.
	Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error)
	// ListSnapshots lists the state snapshots the application can serve.
	ListSnapshots(ctx context.Context, req *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error)
	// OfferSnapshot offers a peer's snapshot to restore from.
	OfferSnapshot(ctx context.Context, req *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error)
	// LoadSnapshotChunk returns one chunk of a local snapshot.
	LoadSnapshotChunk(ctx context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error)
	// ApplySnapshotChunk restores one chunk of an accepted snapshot.
	ApplySnapshotChunk(ctx context.Context, req *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error)
	// InsertTx adds a peer's transaction to the application's own mempool
	// (called only with [mempool] type = "app"); a code of 32000 or more
	// means "try again later".
	InsertTx(ctx context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error)
	// ReapTxs returns transactions from the application's own mempool for
	// the node to gossip (called only with [mempool] type = "app").
	ReapTxs(ctx context.Context, req *abci.RequestReapTxs) (*abci.ResponseReapTxs, error)
}

// BaseApplication implements every Application method with a harmless
// default: it accepts every transaction, proposal and vote extension, keeps
// no state and serves no snapshots. Embed it and override what you need.
type BaseApplication struct{}

var _ Application = BaseApplication{}

// Info reports an empty application at height 0.
func (BaseApplication) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return &abci.ResponseInfo{}, nil
}

// Query answers with an empty value.
func (BaseApplication) Query(context.Context, *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return &abci.ResponseQuery{}, nil
}

// CheckTx accepts every transaction.
func (BaseApplication) CheckTx(context.Context, *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	return &abci.ResponseCheckTx{}, nil
}

// InitChain accepts the genesis validators and parameters unchanged.
func (BaseApplication) InitChain(context.Context, *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	return &abci.ResponseInitChain{}, nil
}

// PrepareProposal keeps the mempool's transactions in order, stopping before
// the first one that would take the total past req.MaxTxBytes.
func (BaseApplication) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	var total int64
	for i, tx := range req.Txs {
		total += int64(len(tx))
		if total > req.MaxTxBytes {
			return &abci.ResponsePrepareProposal{Txs: req.Txs[:i]}, nil
		}
	}
	return &abci.ResponsePrepareProposal{Txs: req.Txs}, nil
}

// ProcessProposal accepts every proposal.
func (BaseApplication) ProcessProposal(context.Context, *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock reports every transaction as successful and changes nothing.
func (BaseApplication) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i := range results {
		results[i] = &abci.ExecTxResult{}
	}
	return &abci.ResponseFinalizeBlock{TxResults: results}, nil
}

// ExtendVote attaches no extension.
func (BaseApplication) ExtendVote(context.Context, *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	return &abci.ResponseExtendVote{}, nil
}

// VerifyVoteExtension accepts every extension.
func (BaseApplication) VerifyVoteExtension(context.Context, *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

// Commit has nothing to persist and asks for no pruning.
func (BaseApplication) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	return &abci.ResponseCommit{}, nil
}

// ListSnapshots lists none.
func (BaseApplication) ListSnapshots(context.Context, *abci.RequestListSnapshots) (*abci.ResponseListSnapshots, error) {
	return &abci.ResponseListSnapshots{}, nil
}

// OfferSnapshot aborts state sync: there is nothing to restore into.
func (BaseApplication) OfferSnapshot(context.Context, *abci.RequestOfferSnapshot) (*abci.ResponseOfferSnapshot, error) {
	return &abci.ResponseOfferSnapshot{Result: abci.ResponseOfferSnapshot_ABORT}, nil
}

// LoadSnapshotChunk returns an empty chunk.
func (BaseApplication) LoadSnapshotChunk(context.Context, *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	return &abci.ResponseLoadSnapshotChunk{}, nil
}

// ApplySnapshotChunk aborts state sync.
func (BaseApplication) ApplySnapshotChunk(context.Context, *abci.RequestApplySnapshotChunk) (*abci.ResponseApplySnapshotChunk, error) {
	return &abci.ResponseApplySnapshotChunk{Result: abci.ResponseApplySnapshotChunk_ABORT}, nil
}

// InsertTx accepts the transaction (and keeps nothing).
func (BaseApplication) InsertTx(context.Context, *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	return &abci.ResponseInsertTx{}, nil
}

// ReapTxs returns no transactions.
func (BaseApplication) ReapTxs(context.Context, *abci.RequestReapTxs) (*abci.ResponseReapTxs, error) {
	return &abci.ResponseReapTxs{}, nil
}
