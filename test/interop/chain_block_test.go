package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// TestChainBlocksAreCometBFTs runs a 4-validator bftnode network with
// transactions, reads every block, commit, validator set, result set and
// consensus parameters over RPC (plain HTTP, decoded into CometBFT's types
// by CometBFT's JSON decoder) and checks them with CometBFT's code: the
// block hash is the block ID's, the part set of the block's encoding in
// 64 KiB parts is the block ID's, the block passes ValidateBasic, the
// commit passes ValidateBasic and VerifyCommit/VerifyCommitLight against
// the validators, and the header's validators, consensus, last results and
// last block ID fields are what CometBFT computes from the chain.
func TestChainBlocksAreCometBFTs(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	for i := range 12 {
		broadcastTx(t, nw.nodes[i%4].RPC(), fmt.Sprintf("chain-key-%d=value-%d", i, i))
	}
	const top = 8
	nw.waitHeight(top+1, 2*time.Minute)

	var prevID cmttypes.BlockID
	var prevResults *coretypes.ResultBlockResults
	txs := 0
	for h := int64(1); h <= top; h++ {
		rpc := nw.nodes[h%4].RPC()
		var rb coretypes.ResultBlock
		var rc coretypes.ResultCommit
		var rv coretypes.ResultValidators
		var rp coretypes.ResultConsensusParams
		var rr coretypes.ResultBlockResults
		q := fmt.Sprintf("height=%d", h)
		cmtGet(t, rpc, "block", q, &rb)
		cmtGet(t, rpc, "commit", q, &rc)
		cmtGet(t, rpc, "validators", q+"&per_page=100", &rv)
		cmtGet(t, rpc, "consensus_params", q, &rp)
		cmtGet(t, rpc, "block_results", q, &rr)

		b, id := rb.Block, rb.BlockID
		txs += len(b.Txs)
		if err := b.ValidateBasic(); err != nil {
			t.Fatalf("height %d: CometBFT's Block.ValidateBasic: %v", h, err)
		}
		if got := b.Hash(); !bytes.Equal(got, id.Hash) {
			t.Fatalf("height %d: CometBFT hashes the header to %X, bftnode's block ID is %X", h, got, id.Hash)
		}
		ps, err := b.MakePartSet(cmttypes.BlockPartSizeBytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := ps.Header(); !got.Equals(id.PartSetHeader) {
			t.Fatalf("height %d: CometBFT's part set header %v, bftnode's %v", h, got, id.PartSetHeader)
		}

		sh := rc.SignedHeader
		if !bytes.Equal(sh.Header.Hash(), id.Hash) {
			t.Fatalf("height %d: /commit's header hashes to %X, /block's ID is %X", h, sh.Header.Hash(), id.Hash)
		}
		if err := sh.ValidateBasic(nw.chainID); err != nil {
			t.Fatalf("height %d: CometBFT's SignedHeader.ValidateBasic: %v", h, err)
		}
		vals := cmttypes.NewValidatorSet(rv.Validators)
		if err := vals.ValidateBasic(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(vals.Hash(), b.ValidatorsHash) {
			t.Fatalf("height %d: /validators hash to %X, the header says %X", h, vals.Hash(), b.ValidatorsHash)
		}
		if err := vals.VerifyCommit(nw.chainID, id, h, sh.Commit); err != nil {
			t.Fatalf("height %d: CometBFT's VerifyCommit: %v", h, err)
		}
		if err := vals.VerifyCommitLight(nw.chainID, id, h, sh.Commit); err != nil {
			t.Fatalf("height %d: CometBFT's VerifyCommitLight: %v", h, err)
		}
		if got := rp.ConsensusParams.Hash(); !bytes.Equal(got, b.ConsensusHash) {
			t.Fatalf("height %d: CometBFT hashes /consensus_params to %X, the header says %X", h, got, b.ConsensusHash)
		}
		if h == 1 {
			if len(b.LastResultsHash) != 0 || !b.LastBlockID.IsZero() {
				t.Fatalf("first header: last results hash %X and last block ID %v, want both empty", b.LastResultsHash, b.LastBlockID)
			}
		} else {
			if !b.LastBlockID.Equals(prevID) {
				t.Fatalf("height %d: last block ID %v, want %v", h, b.LastBlockID, prevID)
			}
			if got := cmttypes.NewResults(prevResults.TxsResults).Hash(); !bytes.Equal(got, b.LastResultsHash) {
				t.Fatalf("height %d: CometBFT hashes height %d's results to %X, the header says %X", h, h-1, got, b.LastResultsHash)
			}
			// The previous height's commit in this block verifies too.
			var prevVals coretypes.ResultValidators
			cmtGet(t, rpc, "validators", fmt.Sprintf("height=%d&per_page=100", h-1), &prevVals)
			if err := cmttypes.NewValidatorSet(prevVals.Validators).VerifyCommit(nw.chainID, prevID, h-1, b.LastCommit); err != nil {
				t.Fatalf("height %d: CometBFT's VerifyCommit of the block's last commit: %v", h, err)
			}
		}
		prevID, prevResults = id, &rr
	}
	if txs == 0 {
		t.Fatal("no block up to the tested height held a transaction")
	}
}

// cmtGet calls an RPC method with plain HTTP and decodes its result with
// CometBFT's JSON decoder into result (a CometBFT RPC result type).
func cmtGet(t *testing.T, base, method, query string, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+method+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s?%s: %v", method, query, err)
	}
	defer resp.Body.Close()
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s?%s: %v", method, query, err)
	}
	if len(env.Error) != 0 {
		t.Fatalf("%s?%s: error %s", method, query, env.Error)
	}
	if err := cmtjson.Unmarshal(env.Result, result); err != nil {
		t.Fatalf("%s?%s: CometBFT cannot decode the result: %v\n%s", method, query, err, env.Result)
	}
}

// broadcastTx submits tx with broadcast_tx_sync and fails unless it was
// accepted.
func broadcastTx(t *testing.T, base, tx string) {
	t.Helper()
	var res coretypes.ResultBroadcastTx
	cmtGet(t, base, "broadcast_tx_sync", "tx="+url.QueryEscape(`"`+tx+`"`), &res)
	if res.Code != 0 {
		t.Fatalf("broadcast %q: code %d %s", tx, res.Code, res.Log)
	}
}
