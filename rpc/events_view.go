package rpc

import (
	"encoding/json"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
)

// The JSON of subscription events, as CometBFT sends them: the query, the
// event data tagged with its amino type, and the event's attributes.

type eventDataView struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type resultEvent struct {
	Query  string              `json:"query"`
	Data   eventDataView       `json:"data"`
	Events map[string][]string `json:"events"`
}

type finalizeBlockView struct {
	Events                []eventView           `json:"events"`
	TxResults             []txResultView        `json:"tx_results"`
	ValidatorUpdates      []validatorUpdateView `json:"validator_updates"`
	ConsensusParamUpdates *consensusParamsView  `json:"consensus_param_updates"`
	AppHash               []byte                `json:"app_hash"`
}

type newBlockView struct {
	Block               *blockView        `json:"block"`
	BlockID             blockIDView       `json:"block_id"`
	ResultFinalizeBlock finalizeBlockView `json:"result_finalize_block"`
}

type txEventResultView struct {
	Height int64s       `json:"height"`
	Index  uint32       `json:"index"`
	Tx     []byte       `json:"tx"`
	Result txResultView `json:"result"`
}

func encodeEvent(q *query.Query, ev eventbus.Event) (json.RawMessage, error) {
	out := resultEvent{Query: q.String(), Events: ev.Attributes}
	switch {
	case ev.Type == eventbus.EventNewBlock && ev.Block != nil:
		r := viewBlockResults(ev.Block.Header.Height, ev.Results)
		out.Data = eventDataView{Type: "tendermint/event/NewBlock", Value: newBlockView{
			Block: viewBlock(ev.Block), BlockID: viewBlockID(ev.BlockID),
			ResultFinalizeBlock: finalizeBlockView{Events: r.FinalizeBlockEvents, TxResults: r.TxsResults,
				ValidatorUpdates: r.ValidatorUpdates, ConsensusParamUpdates: r.ConsensusParamUpdates, AppHash: r.AppHash},
		}}
	case ev.Type == eventbus.EventNewBlockHeader && ev.Header != nil:
		out.Data = eventDataView{Type: "tendermint/event/NewBlockHeader", Value: struct {
			Header *headerView `json:"header"`
		}{viewHeader(ev.Header)}}
	case ev.Type == eventbus.EventTx && ev.Tx != nil:
		out.Data = eventDataView{Type: "tendermint/event/Tx", Value: struct {
			TxResult txEventResultView `json:"TxResult"`
		}{txEventResultView{Height: int64s(ev.Tx.Height), Index: ev.Tx.Index, Tx: ev.Tx.Tx, Result: viewExecTxResult(ev.Tx.Result)}}}
	default:
		if d, ok := consensusEventData(ev); ok {
			out.Data = d
			break
		}
		out.Data = eventDataView{Type: "tendermint/event/" + ev.Type, Value: struct{}{}}
	}
	return json.Marshal(out)
}
