package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// cosmjsReport is what test/interop/cosmjs/check.mjs prints: the values
// CosmJS's Comet38Client decoded from one node.
type cosmjsReport struct {
	DetectedClient string `json:"detectedClient"`
	Status         struct {
		Network           string `json:"network"`
		Version           string `json:"version"`
		ID                string `json:"id"`
		LatestBlockHeight int64  `json:"latestBlockHeight"`
		ValidatorAddress  string `json:"validatorAddress"`
		ValidatorPower    int64  `json:"validatorPower"`
	} `json:"status"`
	BroadcastTxCommit struct {
		Hash           string   `json:"hash"`
		Height         int64    `json:"height"`
		CheckTxCode    uint32   `json:"checkTxCode"`
		TxResultCode   uint32   `json:"txResultCode"`
		TxResultEvents []string `json:"txResultEvents"`
	} `json:"broadcastTxCommit"`
	AbciQuery struct {
		Value string `json:"value"`
	} `json:"abciQuery"`
	Block struct {
		Hash          string   `json:"hash"`
		PartsTotal    int      `json:"partsTotal"`
		Height        int64    `json:"height"`
		ChainID       string   `json:"chainId"`
		Time          string   `json:"time"`
		LastBlockHash string   `json:"lastBlockHash"`
		AppHash       string   `json:"appHash"`
		Proposer      string   `json:"proposer"`
		Txs           []string `json:"txs"`
	} `json:"block"`
	BlockResults struct {
		Height              int64      `json:"height"`
		TxCodes             []uint32   `json:"txCodes"`
		TxEvents            [][]string `json:"txEvents"`
		FinalizeBlockEvents int        `json:"finalizeBlockEvents"`
	} `json:"blockResults"`
	Commit struct {
		Height     int64  `json:"height"`
		BlockHash  string `json:"blockHash"`
		Canonical  bool   `json:"canonical"`
		Signatures []struct {
			Address   string `json:"address"`
			Signature string `json:"signature"`
		} `json:"signatures"`
	} `json:"commit"`
	Validators []struct {
		Address string `json:"address"`
		PubKey  string `json:"pubKey"`
		Power   int64  `json:"power"`
	} `json:"validators"`
	Blockchain struct {
		LastHeight int64   `json:"lastHeight"`
		Metas      []int64 `json:"metas"`
	} `json:"blockchain"`
	Tx struct {
		Height int64  `json:"height"`
		Code   uint32 `json:"code"`
	} `json:"tx"`
	TxSearch []struct {
		Height int64  `json:"height"`
		Hash   string `json:"hash"`
	} `json:"txSearch"`
	NewBlockHeader struct {
		Height  int64  `json:"height"`
		ChainID string `json:"chainId"`
	} `json:"newBlockHeader"`
}

// runCosmJS runs check.mjs (CosmJS's client, installed by `make
// interop-deps`) against nd and returns what it decoded.
func runCosmJS(t *testing.T, nd *bnode, key, value string) cosmjsReport {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("Node.js is not installed; `make interop-deps` installs it (apt-get install nodejs npm) and CosmJS")
	}
	if _, err := os.Stat(filepath.Join("cosmjs", "node_modules", "@cosmjs", "tendermint-rpc")); err != nil {
		t.Fatal("CosmJS is not installed; run `make interop-deps` (npm ci in test/interop/cosmjs)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "check.mjs", nd.RPC(), key, value)
	cmd.Dir = "cosmjs"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("CosmJS against %s: %v\n%s", nd.name, err, stderr.String())
	}
	var rep cosmjsReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check.mjs printed %q: %v", out, err)
	}
	return rep
}

// TestCosmJSClientReadsBftnode runs CosmJS's own RPC client
// (@cosmjs/tendermint-rpc 0.39, its Comet38Client, over HTTP and its
// websocket) against a four-validator bftnode network: it submits a tx,
// reads it back every way, and every value it decodes agrees with CometBFT's
// own client and types (block hash, commit signatures, validators) or with
// what was sent (the tx, its hash, the stored value).
func TestCosmJSClientReadsBftnode(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	nw.waitHeight(2, 2*time.Minute)
	nd := nw.nodes[1]
	key, value := fmt.Sprintf("cosmjs-%d", time.Now().UnixNano()), "from-cosmjs"
	rep := runCosmJS(t, nd, key, value)
	t.Logf("connectComet picked %s for node_info.version %q", rep.DetectedClient, rep.Status.Version)

	tx := []byte(key + "=" + value)
	txHash := sha256.Sum256(tx)
	h := rep.BroadcastTxCommit.Height
	if rep.Status.Network != nw.chainID || rep.Block.ChainID != nw.chainID || rep.NewBlockHeader.ChainID != nw.chainID {
		t.Errorf("chain IDs: status %q, block %q, header event %q; want %q", rep.Status.Network, rep.Block.ChainID, rep.NewBlockHeader.ChainID, nw.chainID)
	}
	if rep.Status.LatestBlockHeight < 2 || rep.NewBlockHeader.Height <= h || rep.Status.ValidatorPower <= 0 {
		t.Errorf("status height %d, header event height %d, validator power %d", rep.Status.LatestBlockHeight, rep.NewBlockHeader.Height, rep.Status.ValidatorPower)
	}
	if rep.BroadcastTxCommit.Hash != hex.EncodeToString(txHash[:]) || rep.BroadcastTxCommit.CheckTxCode != 0 || rep.BroadcastTxCommit.TxResultCode != 0 || h < 1 {
		t.Fatalf("broadcastTxCommit: %+v; want hash %X, codes 0", rep.BroadcastTxCommit, txHash)
	}
	if !slices.Contains(rep.BroadcastTxCommit.TxResultEvents, "app") {
		t.Errorf("tx result events %v lack the kvstore's app event", rep.BroadcastTxCommit.TxResultEvents)
	}
	if rep.AbciQuery.Value != value {
		t.Errorf("abciQuery(%q) = %q, want %q", key, rep.AbciQuery.Value, value)
	}
	if rep.Tx.Height != h || rep.Tx.Code != 0 {
		t.Errorf("tx: %+v, want height %d code 0", rep.Tx, h)
	}
	if !slices.ContainsFunc(rep.TxSearch, func(s struct {
		Height int64  `json:"height"`
		Hash   string `json:"hash"`
	}) bool {
		return s.Height == h && s.Hash == rep.BroadcastTxCommit.Hash
	}) {
		t.Errorf("txSearch app.key=%q: %+v lacks the tx at height %d", key, rep.TxSearch, h)
	}
	if rep.Block.Height != h || !slices.Contains(rep.Block.Txs, hex.EncodeToString(tx)) {
		t.Errorf("block %d: CosmJS decoded height %d, txs %v", h, rep.Block.Height, rep.Block.Txs)
	}
	if rep.BlockResults.Height != h || len(rep.BlockResults.TxCodes) != len(rep.Block.Txs) {
		t.Errorf("blockResults %d: %+v for %d txs", h, rep.BlockResults, len(rep.Block.Txs))
	}
	if rep.Blockchain.LastHeight < h || !slices.Contains(rep.Blockchain.Metas, h) {
		t.Errorf("blockchain: last height %d, metas %v; want %d among them", rep.Blockchain.LastHeight, rep.Blockchain.Metas, h)
	}

	// The same heights through CometBFT's own client and types.
	c, _ := cometClient(t, nd)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	blk, err := c.Block(ctx, &h)
	if err != nil {
		t.Fatalf("CometBFT's client: block %d: %v", h, err)
	}
	hdr := blk.Block.Header
	if got := hex.EncodeToString(blk.Block.Hash()); rep.Block.Hash != got {
		t.Errorf("block %d hash: CosmJS %s, CometBFT computes %s", h, rep.Block.Hash, got)
	}
	if rep.Block.PartsTotal != int(blk.BlockID.PartSetHeader.Total) || rep.Block.LastBlockHash != hex.EncodeToString(hdr.LastBlockID.Hash) ||
		rep.Block.AppHash != hex.EncodeToString(hdr.AppHash) || rep.Block.Proposer != hex.EncodeToString(hdr.ProposerAddress) {
		t.Errorf("block %d header: CosmJS %+v, CometBFT %+v", h, rep.Block, hdr)
	}
	if ts, err := time.Parse(time.RFC3339Nano, rep.Block.Time); err != nil || !ts.Equal(hdr.Time) {
		t.Errorf("block %d time: CosmJS %q (%v), CometBFT %s", h, rep.Block.Time, err, hdr.Time)
	}
	res, err := c.BlockResults(ctx, &h)
	if err != nil {
		t.Fatalf("CometBFT's client: block_results %d: %v", h, err)
	}
	if rep.BlockResults.FinalizeBlockEvents != len(res.FinalizeBlockEvents) {
		t.Errorf("finalize_block_events: CosmJS decoded %d, CometBFT %d", rep.BlockResults.FinalizeBlockEvents, len(res.FinalizeBlockEvents))
	}
	com, err := c.Commit(ctx, &h)
	if err != nil {
		t.Fatalf("CometBFT's client: commit %d: %v", h, err)
	}
	if rep.Commit.Height != h || !rep.Commit.Canonical || rep.Commit.BlockHash != hex.EncodeToString(com.Commit.BlockID.Hash) || len(rep.Commit.Signatures) != len(com.Commit.Signatures) {
		t.Fatalf("commit %d: CosmJS %+v, CometBFT block %X with %d signatures", h, rep.Commit, com.Commit.BlockID.Hash, len(com.Commit.Signatures))
	}
	for i, s := range com.Commit.Signatures {
		if rep.Commit.Signatures[i].Address != hex.EncodeToString(s.ValidatorAddress) || rep.Commit.Signatures[i].Signature != hex.EncodeToString(s.Signature) {
			t.Errorf("commit %d signature %d: CosmJS %+v, CometBFT %X %X", h, i, rep.Commit.Signatures[i], s.ValidatorAddress, s.Signature)
		}
	}
	vals, err := c.Validators(ctx, &h, nil, nil)
	if err != nil {
		t.Fatalf("CometBFT's client: validators %d: %v", h, err)
	}
	if len(rep.Validators) != len(vals.Validators) {
		t.Fatalf("validators %d: CosmJS %d, CometBFT %d", h, len(rep.Validators), len(vals.Validators))
	}
	for i, v := range vals.Validators {
		got := rep.Validators[i]
		if got.Address != hex.EncodeToString(v.Address) || got.PubKey != hex.EncodeToString(v.PubKey.Bytes()) || got.Power != v.VotingPower {
			t.Errorf("validator %d: CosmJS %+v, CometBFT %X %X %d", i, got, v.Address, v.PubKey.Bytes(), v.VotingPower)
		}
	}
	if !slices.ContainsFunc(rep.Validators, func(v struct {
		Address string `json:"address"`
		PubKey  string `json:"pubKey"`
		Power   int64  `json:"power"`
	}) bool {
		return v.Address == rep.Status.ValidatorAddress
	}) {
		t.Errorf("status validator address %s is not among the validators", rep.Status.ValidatorAddress)
	}
}
