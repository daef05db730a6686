package rpc

import (
	"crypto/ed25519"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/eventbus"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// The JSON views below mirror the shapes of CometBFT v0.38's RPC results
// (key names and encodings); they are built from our domain types.

// Protocol versions reported in headers and node info.
const (
	blockProtocol = types.BlockProtocol
	p2pProtocol   = 8
)

type partSetHeaderView struct {
	Total uint32   `json:"total"`
	Hash  hexBytes `json:"hash"`
}

type blockIDView struct {
	Hash  hexBytes          `json:"hash"`
	Parts partSetHeaderView `json:"parts"`
}

func viewBlockID(id types.BlockID) blockIDView {
	return blockIDView{
		Hash:  hashHex(id.Hash[:]),
		Parts: partSetHeaderView{Total: id.PartSetHeader.Total, Hash: hashHex(id.PartSetHeader.Hash[:])},
	}
}

type versionView struct {
	Block uint64s `json:"block"`
	App   uint64s `json:"app"`
}

type headerView struct {
	Version            versionView `json:"version"`
	ChainID            string      `json:"chain_id"`
	Height             int64s      `json:"height"`
	Time               rfcTime     `json:"time"`
	LastBlockID        blockIDView `json:"last_block_id"`
	LastCommitHash     hexBytes    `json:"last_commit_hash"`
	DataHash           hexBytes    `json:"data_hash"`
	ValidatorsHash     hexBytes    `json:"validators_hash"`
	NextValidatorsHash hexBytes    `json:"next_validators_hash"`
	ConsensusHash      hexBytes    `json:"consensus_hash"`
	AppHash            hexBytes    `json:"app_hash"`
	LastResultsHash    hexBytes    `json:"last_results_hash"`
	EvidenceHash       hexBytes    `json:"evidence_hash"`
	ProposerAddress    hexBytes    `json:"proposer_address"`
}

func viewHeader(h *types.Header) *headerView {
	if h == nil {
		return nil
	}
	return &headerView{
		Version:            versionView{Block: uint64s(h.Version.Block), App: uint64s(h.Version.App)},
		ChainID:            h.ChainID,
		Height:             int64s(h.Height),
		Time:               rfcTime(h.Time),
		LastBlockID:        viewBlockID(h.LastBlockID),
		LastCommitHash:     hashHex(h.LastCommitHash[:]),
		DataHash:           hashHex(h.DataHash[:]),
		ValidatorsHash:     hashHex(h.ValidatorsHash[:]),
		NextValidatorsHash: hashHex(h.NextValidatorsHash[:]),
		ConsensusHash:      hashHex(h.ConsensusHash[:]),
		AppHash:            hexBytes(h.AppHash),
		LastResultsHash:    hashHex(h.LastResultsHash[:]),
		EvidenceHash:       hashHex(h.EvidenceHash[:]),
		ProposerAddress:    hexBytes(h.ProposerAddress[:]),
	}
}

type commitSigView struct {
	BlockIDFlag      uint8    `json:"block_id_flag"`
	ValidatorAddress hexBytes `json:"validator_address"`
	Timestamp        rfcTime  `json:"timestamp"`
	Signature        []byte   `json:"signature"`
}

type commitView struct {
	Height     int64s          `json:"height"`
	Round      int32           `json:"round"`
	BlockID    blockIDView     `json:"block_id"`
	Signatures []commitSigView `json:"signatures"`
}

func viewCommit(c *types.Commit) *commitView {
	if c == nil {
		return nil
	}
	v := &commitView{
		Height:     int64s(c.Height),
		Round:      c.Round,
		BlockID:    viewBlockID(c.BlockID),
		Signatures: make([]commitSigView, len(c.Signatures)),
	}
	for i, s := range c.Signatures {
		sv := commitSigView{BlockIDFlag: uint8(s.Flag), Timestamp: rfcTime(s.Timestamp), Signature: s.Signature}
		if s.Flag == types.BlockIDFlagAbsent {
			sv.ValidatorAddress = hexBytes{}
		} else {
			sv.ValidatorAddress = hexBytes(s.ValidatorAddress[:])
		}
		v.Signatures[i] = sv
	}
	return v
}

type dataView struct {
	Txs [][]byte `json:"txs"`
}

type evidenceListView struct {
	Evidence []typedEvidenceView `json:"evidence"`
}

type blockView struct {
	Header     *headerView      `json:"header"`
	Data       dataView         `json:"data"`
	Evidence   evidenceListView `json:"evidence"`
	LastCommit *commitView      `json:"last_commit"`
}

func viewBlock(b *types.Block) *blockView {
	if b == nil {
		return nil
	}
	txs := b.Data.Txs
	if txs == nil {
		txs = [][]byte{}
	}
	lc := viewCommit(b.LastCommit)
	if lc == nil {
		// CometBFT shows the first block's empty last commit as a zero commit.
		lc = &commitView{Signatures: []commitSigView{}, BlockID: viewBlockID(types.BlockID{})}
	}
	return &blockView{
		Header:     viewHeader(&b.Header),
		Data:       dataView{Txs: txs},
		Evidence:   viewEvidenceList(b.Evidence),
		LastCommit: lc,
	}
}

// resultBlock is the result of block, block_by_hash and each block_search hit.
type resultBlock struct {
	BlockID blockIDView `json:"block_id"`
	Block   *blockView  `json:"block"`
}

type blockMetaView struct {
	BlockID   blockIDView `json:"block_id"`
	BlockSize int64s      `json:"block_size"`
	Header    *headerView `json:"header"`
	NumTxs    int64s      `json:"num_txs"`
}

func viewBlockMeta(m *blockstore.BlockMeta) blockMetaView {
	return blockMetaView{
		BlockID:   viewBlockID(m.BlockID),
		BlockSize: int64s(m.BlockSize),
		Header:    viewHeader(&m.Header),
		NumTxs:    int64s(m.NumTxs),
	}
}

// pubKeyView is the amino-JSON form of a public key.
type pubKeyView struct {
	Type  string `json:"type"`
	Value []byte `json:"value"`
}

const ed25519PubKeyType = "tendermint/PubKeyEd25519"

func viewPubKey(pk ed25519.PublicKey) *pubKeyView {
	if len(pk) == 0 {
		return nil
	}
	return &pubKeyView{Type: ed25519PubKeyType, Value: pk}
}

type validatorView struct {
	Address          hexBytes    `json:"address"`
	PubKey           *pubKeyView `json:"pub_key"`
	VotingPower      int64s      `json:"voting_power"`
	ProposerPriority int64s      `json:"proposer_priority"`
}

func viewValidator(v *types.Validator) validatorView {
	return validatorView{
		Address:          hexBytes(v.Address[:]),
		PubKey:           viewPubKey(v.PubKey),
		VotingPower:      int64s(v.VotingPower),
		ProposerPriority: int64s(v.ProposerPriority),
	}
}

// ABCI views.

type eventAttributeView struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Index bool   `json:"index"`
}

type eventView struct {
	Type       string               `json:"type"`
	Attributes []eventAttributeView `json:"attributes"`
}

func viewEvents(evs []abci.Event) []eventView {
	out := make([]eventView, len(evs))
	for i, e := range evs {
		attrs := make([]eventAttributeView, len(e.Attributes))
		for j, a := range e.Attributes {
			attrs[j] = eventAttributeView{Key: a.Key, Value: a.Value, Index: a.Index}
		}
		out[i] = eventView{Type: e.Type, Attributes: attrs}
	}
	return out
}

// txResultView is the JSON of an ABCI ExecTxResult and of CheckTx's response
// (which has the same fields).
type txResultView struct {
	Code      uint32      `json:"code"`
	Data      []byte      `json:"data"`
	Log       string      `json:"log"`
	Info      string      `json:"info"`
	GasWanted int64s      `json:"gas_wanted"`
	GasUsed   int64s      `json:"gas_used"`
	Events    []eventView `json:"events"`
	Codespace string      `json:"codespace"`
}

func viewExecTxResult(r *abci.ExecTxResult) txResultView {
	if r == nil {
		return txResultView{Events: []eventView{}}
	}
	return txResultView{Code: r.Code, Data: r.Data, Log: r.Log, Info: r.Info,
		GasWanted: int64s(r.GasWanted), GasUsed: int64s(r.GasUsed), Events: viewEvents(r.Events), Codespace: r.Codespace}
}

func viewCheckTx(r *abci.ResponseCheckTx) txResultView {
	if r == nil {
		return txResultView{Events: []eventView{}}
	}
	return txResultView{Code: r.Code, Data: r.Data, Log: r.Log, Info: r.Info,
		GasWanted: int64s(r.GasWanted), GasUsed: int64s(r.GasUsed), Events: viewEvents(r.Events), Codespace: r.Codespace}
}

type validatorUpdateView struct {
	PubKey *pubKeyView `json:"pub_key"`
	Power  int64s      `json:"power"`
}

type blockParamsView struct {
	MaxBytes int64s `json:"max_bytes"`
	MaxGas   int64s `json:"max_gas"`
}

type evidenceParamsView struct {
	MaxAgeNumBlocks int64s `json:"max_age_num_blocks"`
	MaxAgeDuration  int64s `json:"max_age_duration"`
	MaxBytes        int64s `json:"max_bytes"`
}

type validatorParamsView struct {
	PubKeyTypes []string `json:"pub_key_types"`
}

type versionParamsView struct {
	App uint64s `json:"app"`
}

type abciParamsView struct {
	VoteExtensionsEnableHeight int64s `json:"vote_extensions_enable_height"`
}

type consensusParamsView struct {
	Block     *blockParamsView     `json:"block"`
	Evidence  *evidenceParamsView  `json:"evidence"`
	Validator *validatorParamsView `json:"validator"`
	Version   *versionParamsView   `json:"version"`
	ABCI      *abciParamsView      `json:"abci"`
}

func viewConsensusParams(p *tmtypes.ConsensusParams) *consensusParamsView {
	if p == nil {
		return nil
	}
	v := &consensusParamsView{}
	if p.Block != nil {
		v.Block = &blockParamsView{MaxBytes: int64s(p.Block.MaxBytes), MaxGas: int64s(p.Block.MaxGas)}
	}
	if p.Evidence != nil {
		v.Evidence = &evidenceParamsView{MaxAgeNumBlocks: int64s(p.Evidence.MaxAgeNumBlocks),
			MaxAgeDuration: int64s(p.Evidence.MaxAgeDuration), MaxBytes: int64s(p.Evidence.MaxBytes)}
	}
	if p.Validator != nil {
		types := p.Validator.PubKeyTypes
		if types == nil {
			types = []string{}
		}
		v.Validator = &validatorParamsView{PubKeyTypes: types}
	}
	if p.Version != nil {
		v.Version = &versionParamsView{App: uint64s(p.Version.App)}
	}
	if p.Abci != nil {
		v.ABCI = &abciParamsView{VoteExtensionsEnableHeight: int64s(p.Abci.VoteExtensionsEnableHeight)}
	}
	return v
}

type resultBlockResults struct {
	Height                int64s                `json:"height"`
	TxsResults            []txResultView        `json:"txs_results"`
	FinalizeBlockEvents   []eventView           `json:"finalize_block_events"`
	ValidatorUpdates      []validatorUpdateView `json:"validator_updates"`
	ConsensusParamUpdates *consensusParamsView  `json:"consensus_param_updates"`
	AppHash               []byte                `json:"app_hash"`
}

func viewBlockResults(height int64, r *abci.ResponseFinalizeBlock) resultBlockResults {
	out := resultBlockResults{Height: int64s(height), TxsResults: []txResultView{},
		FinalizeBlockEvents: []eventView{}, ValidatorUpdates: []validatorUpdateView{}}
	if r == nil {
		return out
	}
	for _, tr := range r.TxResults {
		out.TxsResults = append(out.TxsResults, viewExecTxResult(tr))
	}
	out.FinalizeBlockEvents = viewEvents(r.Events)
	for _, u := range r.ValidatorUpdates {
		out.ValidatorUpdates = append(out.ValidatorUpdates,
			validatorUpdateView{PubKey: viewPubKey(u.PubKey.GetEd25519()), Power: int64s(u.Power)})
	}
	out.ConsensusParamUpdates = viewConsensusParams(r.ConsensusParamUpdates)
	out.AppHash = r.AppHash
	return out
}

// resultTx is the result of tx and each tx_search hit, and the value of a
// Tx event.
type resultTx struct {
	Hash     hexBytes     `json:"hash"`
	Height   int64s       `json:"height"`
	Index    uint32       `json:"index"`
	TxResult txResultView `json:"tx_result"`
	Tx       []byte       `json:"tx"`
}

func viewTx(r *eventbus.TxResult) resultTx {
	h := r.Hash()
	return resultTx{Hash: hexBytes(h[:]), Height: int64s(r.Height), Index: r.Index,
		TxResult: viewExecTxResult(r.Result), Tx: r.Tx}
}
