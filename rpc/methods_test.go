package rpc

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func upperHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestMethodShapes calls every method over POST and checks key names and
// encodings against CometBFT v0.38's JSON: int64 as strings, int32 as
// numbers, hashes upper-case hex, bytes base64, times RFC 3339 UTC.
func TestMethodShapes(t *testing.T) {
	ts := startServer(t, 3, nil)
	be := ts.be
	id2 := be.ids[1]
	hash2 := upperHex(id2.Hash[:])
	txHash2 := sha256.Sum256([]byte("k2=v2"))
	val0 := be.vals.Validators[0]

	tests := []struct {
		method string
		params any
		want   map[string]any
	}{
		{"health", nil, map[string]any{}},
		{"status", nil, map[string]any{
			"node_info.protocol_version.p2p":   "8",
			"node_info.protocol_version.block": "11",
			"node_info.protocol_version.app":   "1",
			"node_info.id":                     "1c2b0f9e4a33d7e8b5a6c4f2e1d0c9b8a7f6e5d4",
			"node_info.other.libp2p_peer_id":   "12D3KooWtest",
			"node_info.channels":               "402021222330",
			"node_info.network":                testChainID,
			"node_info.moniker":                "node0",
			"node_info.other.tx_index":         "on",
			"sync_info.latest_block_height":    "3",
			"sync_info.latest_block_hash":      upperHex(be.ids[2].Hash[:]),
			"sync_info.latest_app_hash":        "AB03",
			"sync_info.latest_block_time":      "2026-11-27T09:00:02.123456789Z",
			"sync_info.earliest_block_height":  "1",
			"sync_info.catching_up":            false,
			"validator_info.address":           upperHex(val0.Address[:]),
			"validator_info.pub_key.type":      "tendermint/PubKeyEd25519",
			"validator_info.pub_key.value":     base64.StdEncoding.EncodeToString(val0.PubKey),
			"validator_info.voting_power":      "30",
		}},
		{"net_info", nil, map[string]any{
			"listening":                              true,
			"listeners.0":                            "/ip4/0.0.0.0/tcp/26656",
			"n_peers":                                "1",
			"peers.0.node_info.id":                   "00112233445566778899aabbccddeeff00112233",
			"peers.0.node_info.other.libp2p_peer_id": "12D3KooWpeer",
			"peers.0.node_info.moniker":              "node1",
			"peers.0.is_outbound":                    true,
			"peers.0.remote_ip":                      "10.0.0.2",
			"peers.0.connection_status":              func(v any) bool { _, ok := v.(map[string]any); return ok },
		}},
		{"genesis", nil, map[string]any{
			"genesis.chain_id":       testChainID,
			"genesis.initial_height": "1",
			"genesis.app_state.x":    1.0,
		}},
		{"genesis_chunked", nil, map[string]any{
			"chunk": "0", "total": "1",
			"data": base64.StdEncoding.EncodeToString([]byte(`{"chain_id":"test-chain","initial_height":"1","app_state":{"x":1}}`)),
		}},
		{"header_by_hash", map[string]any{"hash": hash2}, map[string]any{"header.height": "2", "header.chain_id": testChainID}},
		{"blockchain", map[string]any{"minHeight": "1", "maxHeight": "2"}, map[string]any{
			"last_height":                 "3",
			"block_metas":                 isArrayLen(2),
			"block_metas.0.header.height": "2",
			"block_metas.1.header.height": "1",
			"block_metas.0.block_id.hash": hash2,
			"block_metas.0.block_size":    "102",
			"block_metas.0.num_txs":       "1",
		}},
		{"block", map[string]any{"height": "2"}, map[string]any{
			"block_id.hash":                                    hash2,
			"block_id.parts.total":                             1.0,
			"block_id.parts.hash":                              isUpperHex(32),
			"block.header.version.block":                       "11",
			"block.header.chain_id":                            testChainID,
			"block.header.height":                              "2",
			"block.header.time":                                "2026-11-27T09:00:01.123456789Z",
			"block.header.last_block_id.hash":                  upperHex(be.ids[0].Hash[:]),
			"block.header.last_commit_hash":                    isUpperHex(32),
			"block.header.data_hash":                           isUpperHex(32),
			"block.header.validators_hash":                     isUpperHex(32),
			"block.header.app_hash":                            "AB02",
			"block.header.proposer_address":                    upperHex(val0.Address[:]),
			"block.data.txs.0":                                 b64("k2=v2"),
			"block.evidence.evidence":                          isArrayLen(0),
			"block.last_commit.height":                         "1",
			"block.last_commit.round":                          0.0,
			"block.last_commit.block_id.hash":                  upperHex(be.ids[0].Hash[:]),
			"block.last_commit.signatures.0.block_id_flag":     2.0,
			"block.last_commit.signatures.0.validator_address": upperHex(val0.Address[:]),
			"block.last_commit.signatures.0.timestamp":         "2026-11-27T09:00:00.123456789Z",
			"block.last_commit.signatures.0.signature":         base64.StdEncoding.EncodeToString(be.blocks[1].LastCommit.Signatures[0].Signature),
			"block.last_commit.signatures.2.block_id_flag":     1.0,
			"block.last_commit.signatures.2.validator_address": "",
			"block.last_commit.signatures.2.signature":         nil,
		}},
		{"block", nil, map[string]any{"block.header.height": "3"}},
		{"block", map[string]any{"height": "1"}, map[string]any{
			"block.header.last_block_id.hash": "",
			"block.last_commit.height":        "0",
			"block.last_commit.signatures":    isArrayLen(0),
		}},
		{"block_by_hash", map[string]any{"hash": base64.StdEncoding.EncodeToString(id2.Hash[:])}, map[string]any{
			"block_id.hash": hash2, "block.header.height": "2",
		}},
		{"block_by_hash", map[string]any{"hash": hash2}, map[string]any{"block.header.height": "2"}},
		{"block_results", map[string]any{"height": 2}, map[string]any{
			"height":                                     "2",
			"txs_results.0.code":                         0.0,
			"txs_results.0.data":                         b64("ok"),
			"txs_results.0.log":                          "applied",
			"txs_results.0.gas_wanted":                   "7",
			"txs_results.0.gas_used":                     "5",
			"txs_results.0.codespace":                    "",
			"txs_results.0.events.0.type":                "transfer",
			"txs_results.0.events.0.attributes.0.key":    "key",
			"txs_results.0.events.0.attributes.0.value":  "k2",
			"txs_results.0.events.0.attributes.0.index":  true,
			"finalize_block_events.0.type":               "begin",
			"finalize_block_events.0.attributes.0.value": "val0",
			"validator_updates":                          isArrayLen(0),
			"consensus_param_updates":                    nil,
			"app_hash":                                   base64.StdEncoding.EncodeToString([]byte{0xAB, 2}),
		}},
		{"header", map[string]any{"height": "2"}, map[string]any{
			"header.height": "2", "header.chain_id": testChainID, "header.app_hash": "AB02",
		}},
		{"commit", map[string]any{"height": "2"}, map[string]any{
			"signed_header.header.height":        "2",
			"signed_header.commit.height":        "2",
			"signed_header.commit.block_id.hash": hash2,
			"signed_header.commit.signatures":    isArrayLen(3),
			"canonical":                          true,
		}},
		{"commit", nil, map[string]any{"signed_header.commit.height": "3", "canonical": false}},
		{"validators", map[string]any{"height": "2", "per_page": "2"}, map[string]any{
			"block_height":                   "2",
			"validators":                     isArrayLen(2),
			"validators.0.address":           upperHex(val0.Address[:]),
			"validators.0.pub_key.type":      "tendermint/PubKeyEd25519",
			"validators.0.voting_power":      "30",
			"validators.0.proposer_priority": fmt.Sprint(val0.ProposerPriority),
			"count":                          "2",
			"total":                          "3",
		}},
		{"validators", map[string]any{"page": 2, "per_page": 2}, map[string]any{"count": "1", "total": "3"}},
		{"consensus_params", nil, map[string]any{
			"block_height":                                        "3",
			"consensus_params.block.max_bytes":                    "22020096",
			"consensus_params.block.max_gas":                      "-1",
			"consensus_params.evidence.max_age_num_blocks":        "100000",
			"consensus_params.evidence.max_age_duration":          "172800000000000",
			"consensus_params.evidence.max_bytes":                 "1048576",
			"consensus_params.validator.pub_key_types.0":          "ed25519",
			"consensus_params.version.app":                        "1",
			"consensus_params.abci.vote_extensions_enable_height": "0",
		}},
		{"consensus_state", nil, map[string]any{
			"round_state.height/round/step":   "4/0/3",
			"round_state.start_time":          "2026-11-27T09:00:00.123456789Z",
			"round_state.proposal_block_hash": "",
			"round_state.proposer.address":    upperHex(val0.Address[:]),
			"round_state.proposer.index":      0.0,
		}},
		{"abci_info", nil, map[string]any{
			"response.data":                "kvstore",
			"response.version":             "1.0",
			"response.app_version":         "1",
			"response.last_block_height":   "3",
			"response.last_block_app_hash": "qw==",
		}},
		{"abci_query", map[string]any{"path": "/store", "data": "6b31", "height": "2"}, map[string]any{
			"response.code":      0.0,
			"response.key":       b64("k1"),
			"response.value":     b64("/store:k1"),
			"response.index":     "3",
			"response.height":    "2",
			"response.proof_ops": nil,
			"response.codespace": "",
		}},
		{"abci_query", map[string]any{"path": "/store", "data": "6b31", "prove": true}, map[string]any{
			"response.proof_ops.ops.0.type": "ics23:iavl",
			"response.proof_ops.ops.0.key":  b64("k1"),
			"response.proof_ops.ops.0.data": b64("proof of k1"),
		}},
		{"check_tx", map[string]any{"tx": b64("a=b")}, map[string]any{
			"code": 0.0, "gas_wanted": "1", "gas_used": "0", "events": isArrayLen(0), "data": nil,
		}},
		{"broadcast_tx_sync", map[string]any{"tx": b64("m=1")}, map[string]any{
			"code": 0.0, "data": "", "log": "", "codespace": "", "hash": upperHex(sha256Of("m=1")),
		}},
		{"unconfirmed_txs", map[string]any{"limit": "5"}, map[string]any{
			"n_txs": "1", "total": "1", "total_bytes": "3", "txs.0": b64("m=1"),
		}},
		{"num_unconfirmed_txs", nil, map[string]any{"n_txs": "1", "total": "1", "total_bytes": "3", "txs": nil}},
		{"tx", map[string]any{"hash": base64.StdEncoding.EncodeToString(txHash2[:])}, map[string]any{
			"hash":                                  upperHex(txHash2[:]),
			"height":                                "2",
			"index":                                 0.0,
			"tx":                                    b64("k2=v2"),
			"tx_result.gas_wanted":                  "7",
			"tx_result.events.0.attributes.0.value": "k2",
		}},
		{"tx_search", map[string]any{"query": "tx.height=2"}, map[string]any{
			"total_count": "1", "txs.0.height": "2", "txs.0.hash": upperHex(txHash2[:]),
		}},
		{"tx_search", map[string]any{"query": fmt.Sprintf("tx.hash='%X'", txHash2[:])}, map[string]any{
			"total_count": "1", "txs.0.tx": b64("k2=v2"),
		}},
		{"tx_search", map[string]any{"query": "tm.event='Tx' AND transfer.key='k3'"}, map[string]any{
			"total_count": "1", "txs.0.height": "3",
		}},
		{"tx_search", map[string]any{"query": "tx.height>=2", "order_by": "desc", "per_page": "1"}, map[string]any{
			"total_count": "2", "txs": isArrayLen(1), "txs.0.height": "3",
		}},
		{"tx_search", map[string]any{"query": "transfer.note='unindexed'"}, map[string]any{
			"total_count": "0", "txs": isArrayLen(0),
		}},
		{"block_search", map[string]any{"query": "block.height>1 AND begin.proposer='val0'"}, map[string]any{
			"total_count": "2", "blocks.0.block.header.height": "2", "blocks.1.block_id.hash": upperHex(be.ids[2].Hash[:]),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			got := ts.call(t, tc.method, tc.params)
			if _, ok := got.(map[string]any); !ok {
				t.Fatalf("result is %T, want an object", got)
			}
			expect(t, got, tc.want)
		})
	}
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestBroadcastTxAsync(t *testing.T) {
	ts := startServer(t, 1, nil)
	res := ts.call(t, "broadcast_tx_async", map[string]any{"tx": b64("x=1")})
	expect(t, res, map[string]any{"code": 0.0, "hash": upperHex(sha256Of("x=1"))})
	// The submission runs in the background; poll the mempool for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		u := ts.call(t, "num_unconfirmed_txs", nil)
		if jget(t, u, "n_txs") == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("async tx never reached the mempool")
		}
		runtime.Gosched()
	}
}

func TestBroadcastTxAsyncRefusedByAFullMempool(t *testing.T) {
	ts := startServer(t, 1, nil)
	ts.be.mu.Lock()
	ts.be.roomErr = errors.New("mempool is full: 5000 txs (max 5000)")
	ts.be.mu.Unlock()
	e := ts.callErr(t, "broadcast_tx_async", map[string]any{"tx": b64("x=1")})
	if !strings.Contains(e.Message+e.Data, "mempool is full") {
		t.Fatalf("error %+v does not say the mempool is full", e)
	}
	if u := ts.call(t, "num_unconfirmed_txs", nil); jget(t, u, "n_txs") != "0" {
		t.Fatalf("a refused async tx reached the mempool: %v", u)
	}
}

func TestBroadcastTxCommit(t *testing.T) {
	ts := startServer(t, 2, nil)
	ts.be.mu.Lock()
	ts.be.autoBlock = true
	ts.be.mu.Unlock()
	res := ts.call(t, "broadcast_tx_commit", map[string]any{"tx": b64("c=3")})
	expect(t, res, map[string]any{
		"check_tx.code":                         0.0,
		"check_tx.gas_wanted":                   "1",
		"tx_result.code":                        0.0,
		"tx_result.gas_used":                    "5",
		"tx_result.events.0.attributes.0.value": "c",
		"hash":                                  upperHex(sha256Of("c=3")),
		"height":                                "3",
	})

	ts.be.mu.Lock()
	ts.be.checkCode = 5
	ts.be.mu.Unlock()
	res = ts.call(t, "broadcast_tx_commit", map[string]any{"tx": b64("d=4")})
	expect(t, res, map[string]any{"check_tx.code": 5.0, "check_tx.log": "rejected", "height": "0", "tx_result.code": 0.0})
}

func TestHeightErrors(t *testing.T) {
	ts := startServer(t, 2, nil)
	if e := ts.callErr(t, "block", map[string]any{"height": "9"}); e.Code != CodeInternalError ||
		!strings.Contains(e.Data, "must be less than or equal to the current blockchain height 2") {
		t.Errorf("block 9: %v", e)
	}
	if e := ts.callErr(t, "block", map[string]any{"height": "-1"}); e.Code != CodeInvalidParams {
		t.Errorf("block -1: %v", e)
	}
	if e := ts.callErr(t, "tx", map[string]any{"hash": upperHex(sha256Of("nope"))}); e.Code != CodeInternalError ||
		!strings.Contains(e.Data, "not found") {
		t.Errorf("missing tx: %v", e)
	}
	if e := ts.callErr(t, "validators", map[string]any{"page": "5"}); e.Code != CodeInvalidParams {
		t.Errorf("page 5: %v", e)
	}
	if e := ts.callErr(t, "tx_search", map[string]any{"query": "tx.height=="}); e.Code != CodeInvalidParams {
		t.Errorf("bad query: %v", e)
	}
	if e := ts.callErr(t, "tx_search", map[string]any{"query": "tx.height=1", "order_by": "sideways"}); e.Code != CodeInvalidParams {
		t.Errorf("bad order: %v", e)
	}
	if e := ts.callErr(t, "subscribe", map[string]any{"query": "tm.event='Tx'"}); e.Code != CodeMethodNotFound ||
		!strings.Contains(e.Data, "websocket") {
		t.Errorf("subscribe over HTTP: %v", e)
	}
	empty := startServer(t, 0, nil)
	if e := empty.callErr(t, "block", nil); !strings.Contains(e.Data, "no blocks yet") {
		t.Errorf("block on an empty chain: %v", e)
	}
}
