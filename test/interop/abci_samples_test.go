package interop

import (
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
)

// The samples below are, field for field, the ones bftnode's
// app/abcisocket/samples_test.go builds with its own types: CometBFT's
// encoding of these is the golden frame bftnode's encoding must equal.

var sampleTime = time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)

func sampleValidator() abci.Validator {
	return abci.Validator{Address: []byte("01234567890123456789"), Power: 10}
}

func sampleMisbehavior() []abci.Misbehavior {
	return []abci.Misbehavior{{
		Type:             abci.MisbehaviorType_DUPLICATE_VOTE,
		Validator:        sampleValidator(),
		Height:           3,
		Time:             sampleTime,
		TotalVotingPower: 40,
	}}
}

func sampleCommitInfo() abci.CommitInfo {
	return abci.CommitInfo{Round: 1, Votes: []abci.VoteInfo{{Validator: sampleValidator(), BlockIdFlag: cmtproto.BlockIDFlagCommit}}}
}

func sampleValidatorUpdates() []abci.ValidatorUpdate {
	return []abci.ValidatorUpdate{{
		PubKey: cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: make([]byte, 32)}},
		Power:  7,
	}}
}

func sampleParams() *cmtproto.ConsensusParams {
	return &cmtproto.ConsensusParams{
		Block:     &cmtproto.BlockParams{MaxBytes: 1 << 20, MaxGas: -1},
		Evidence:  &cmtproto.EvidenceParams{MaxAgeNumBlocks: 100, MaxAgeDuration: 48 * time.Hour, MaxBytes: 1 << 10},
		Validator: &cmtproto.ValidatorParams{PubKeyTypes: []string{"ed25519"}},
		Version:   &cmtproto.VersionParams{App: 1},
		Abci:      &cmtproto.ABCIParams{VoteExtensionsEnableHeight: 2},
	}
}

func sampleEvents() []abci.Event {
	return []abci.Event{{Type: "app", Attributes: []abci.EventAttribute{{Key: "key", Value: "k", Index: true}}}}
}

func sampleSnapshot() *abci.Snapshot {
	return &abci.Snapshot{Height: 10, Format: 1, Chunks: 2, Hash: []byte("hash"), Metadata: []byte("meta")}
}

// sampleRequests has one request of every kind bftnode speaks, named for
// the golden files.
func sampleRequests() map[string]*abci.Request {
	return map[string]*abci.Request{
		"echo":  {Value: &abci.Request_Echo{Echo: &abci.RequestEcho{Message: "hello"}}},
		"flush": {Value: &abci.Request_Flush{Flush: &abci.RequestFlush{}}},
		"info":  {Value: &abci.Request_Info{Info: &abci.RequestInfo{Version: "0.38.0", BlockVersion: 11, P2PVersion: 8, AbciVersion: "2.0.0"}}},
		"init_chain": {Value: &abci.Request_InitChain{InitChain: &abci.RequestInitChain{
			Time: sampleTime, ChainId: "test-chain", ConsensusParams: sampleParams(),
			Validators: sampleValidatorUpdates(), AppStateBytes: []byte("{}"), InitialHeight: 1,
		}}},
		"query":     {Value: &abci.Request_Query{Query: &abci.RequestQuery{Data: []byte("k"), Path: "/key", Height: 5, Prove: true}}},
		"check_tx":  {Value: &abci.Request_CheckTx{CheckTx: &abci.RequestCheckTx{Tx: []byte("k=v"), Type: abci.CheckTxType_Recheck}}},
		"commit":    {Value: &abci.Request_Commit{Commit: &abci.RequestCommit{}}},
		"list_snap": {Value: &abci.Request_ListSnapshots{ListSnapshots: &abci.RequestListSnapshots{}}},
		"offer_snap": {Value: &abci.Request_OfferSnapshot{OfferSnapshot: &abci.RequestOfferSnapshot{
			Snapshot: sampleSnapshot(), AppHash: []byte("apphash"),
		}}},
		"load_chunk":  {Value: &abci.Request_LoadSnapshotChunk{LoadSnapshotChunk: &abci.RequestLoadSnapshotChunk{Height: 10, Format: 1, Chunk: 1}}},
		"apply_chunk": {Value: &abci.Request_ApplySnapshotChunk{ApplySnapshotChunk: &abci.RequestApplySnapshotChunk{Index: 1, Chunk: []byte("chunk"), Sender: "peer"}}},
		"prepare_proposal": {Value: &abci.Request_PrepareProposal{PrepareProposal: &abci.RequestPrepareProposal{
			MaxTxBytes: 1000, Txs: [][]byte{[]byte("a=1"), []byte("b=2")},
			LocalLastCommit: abci.ExtendedCommitInfo{Round: 0, Votes: []abci.ExtendedVoteInfo{{
				Validator: sampleValidator(), VoteExtension: []byte("ext"), ExtensionSignature: []byte("sig"), BlockIdFlag: cmtproto.BlockIDFlagCommit,
			}}},
			Misbehavior: sampleMisbehavior(), Height: 5, Time: sampleTime,
			NextValidatorsHash: []byte("nvh"), ProposerAddress: []byte("proposer"),
		}}},
		"process_proposal": {Value: &abci.Request_ProcessProposal{ProcessProposal: &abci.RequestProcessProposal{
			Txs: [][]byte{[]byte("a=1")}, ProposedLastCommit: sampleCommitInfo(), Misbehavior: sampleMisbehavior(),
			Hash: []byte("blockhash"), Height: 5, Time: sampleTime, NextValidatorsHash: []byte("nvh"), ProposerAddress: []byte("proposer"),
		}}},
		"extend_vote": {Value: &abci.Request_ExtendVote{ExtendVote: &abci.RequestExtendVote{
			Hash: []byte("blockhash"), Height: 5, Time: sampleTime, Txs: [][]byte{[]byte("a=1")},
			ProposedLastCommit: sampleCommitInfo(), Misbehavior: sampleMisbehavior(), NextValidatorsHash: []byte("nvh"), ProposerAddress: []byte("proposer"),
		}}},
		"verify_vote_extension": {Value: &abci.Request_VerifyVoteExtension{VerifyVoteExtension: &abci.RequestVerifyVoteExtension{
			Hash: []byte("blockhash"), ValidatorAddress: []byte("val"), Height: 5, VoteExtension: []byte("ext"),
		}}},
		"finalize_block": {Value: &abci.Request_FinalizeBlock{FinalizeBlock: &abci.RequestFinalizeBlock{
			Txs: [][]byte{[]byte("a=1")}, DecidedLastCommit: sampleCommitInfo(), Misbehavior: sampleMisbehavior(),
			Hash: []byte("blockhash"), Height: 5, Time: sampleTime, NextValidatorsHash: []byte("nvh"), ProposerAddress: []byte("proposer"),
		}}},
	}
}

// sampleResponses has one response of every kind bftnode speaks, named for
// the golden files.
func sampleResponses() map[string]*abci.Response {
	return map[string]*abci.Response{
		"exception": {Value: &abci.Response_Exception{Exception: &abci.ResponseException{Error: "boom"}}},
		"echo":      {Value: &abci.Response_Echo{Echo: &abci.ResponseEcho{Message: "hello"}}},
		"flush":     {Value: &abci.Response_Flush{Flush: &abci.ResponseFlush{}}},
		"info": {Value: &abci.Response_Info{Info: &abci.ResponseInfo{
			Data: "kvstore", Version: "1", AppVersion: 1, LastBlockHeight: 9, LastBlockAppHash: []byte("apphash"),
		}}},
		"init_chain": {Value: &abci.Response_InitChain{InitChain: &abci.ResponseInitChain{
			ConsensusParams: sampleParams(), Validators: sampleValidatorUpdates(), AppHash: []byte("apphash"),
		}}},
		"query": {Value: &abci.Response_Query{Query: &abci.ResponseQuery{
			Code: 1, Log: "log", Info: "info", Index: 2, Key: []byte("k"), Value: []byte("v"),
			ProofOps: &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: "iavl", Key: []byte("k"), Data: []byte("d")}}},
			Height:   9, Codespace: "kv",
		}}},
		"check_tx": {Value: &abci.Response_CheckTx{CheckTx: &abci.ResponseCheckTx{
			Code: 1, Data: []byte("d"), Log: "log", Info: "info", GasWanted: 10, GasUsed: 5, Events: sampleEvents(), Codespace: "kv",
		}}},
		"commit":    {Value: &abci.Response_Commit{Commit: &abci.ResponseCommit{RetainHeight: 4}}},
		"list_snap": {Value: &abci.Response_ListSnapshots{ListSnapshots: &abci.ResponseListSnapshots{Snapshots: []*abci.Snapshot{sampleSnapshot()}}}},
		"offer_snap": {Value: &abci.Response_OfferSnapshot{OfferSnapshot: &abci.ResponseOfferSnapshot{
			Result: abci.ResponseOfferSnapshot_REJECT_FORMAT,
		}}},
		"load_chunk": {Value: &abci.Response_LoadSnapshotChunk{LoadSnapshotChunk: &abci.ResponseLoadSnapshotChunk{Chunk: []byte("chunk")}}},
		"apply_chunk": {Value: &abci.Response_ApplySnapshotChunk{ApplySnapshotChunk: &abci.ResponseApplySnapshotChunk{
			Result: abci.ResponseApplySnapshotChunk_RETRY, RefetchChunks: []uint32{1, 2}, RejectSenders: []string{"peer"},
		}}},
		"prepare_proposal": {Value: &abci.Response_PrepareProposal{PrepareProposal: &abci.ResponsePrepareProposal{Txs: [][]byte{[]byte("a=1")}}}},
		"process_proposal": {Value: &abci.Response_ProcessProposal{ProcessProposal: &abci.ResponseProcessProposal{
			Status: abci.ResponseProcessProposal_REJECT,
		}}},
		"extend_vote": {Value: &abci.Response_ExtendVote{ExtendVote: &abci.ResponseExtendVote{VoteExtension: []byte("ext")}}},
		"verify_vote_extension": {Value: &abci.Response_VerifyVoteExtension{VerifyVoteExtension: &abci.ResponseVerifyVoteExtension{
			Status: abci.ResponseVerifyVoteExtension_ACCEPT,
		}}},
		"finalize_block": {Value: &abci.Response_FinalizeBlock{FinalizeBlock: &abci.ResponseFinalizeBlock{
			Events: sampleEvents(),
			TxResults: []*abci.ExecTxResult{{
				Code: 0, Data: []byte("d"), Log: "log", Info: "info", GasWanted: 1, GasUsed: 1, Events: sampleEvents(), Codespace: "kv",
			}},
			ValidatorUpdates:      sampleValidatorUpdates(),
			ConsensusParamUpdates: sampleParams(),
			AppHash:               []byte("apphash"),
		}}},
	}
}
