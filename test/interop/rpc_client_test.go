package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// wsOnlyMethods are served on the websocket only, so GET / does not list them.
var wsOnlyMethods = []string{"subscribe", "unsubscribe", "unsubscribe_all"}

// TestRPCCometBFTClientDecodesEveryMethod runs CometBFT's own RPC client
// (rpc/client/http, over HTTP and its websocket) against a four-validator
// bftnode network: it calls every method bftnode serves, each result decodes
// into CometBFT's types, and the values agree with each other and with the
// nodes' files. Block hashes and signatures are not verified here (the chain
// format has tests of its own); only decoding and sense.
func TestRPCCometBFTClientDecodesEveryMethod(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	nw.waitHeight(2, 2*time.Minute)
	nd := nw.nodes[0]
	c, clientLog := cometClient(t, nd)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	called := map[string]bool{}
	must := func(method string, err error) {
		t.Helper()
		called[method] = true
		if err != nil {
			t.Fatalf("%s: CometBFT's client: %v", method, err)
		}
	}

	// Subscribe before the tx is sent, so that its block and the tx itself
	// produce events.
	tx := []byte("interop-key=interop-value")
	txHash := sha256.Sum256(tx)
	queries := map[string]string{
		"NewBlock":       "tm.event = 'NewBlock'",
		"NewBlockHeader": "tm.event = 'NewBlockHeader'",
		"Tx":             fmt.Sprintf("tm.event = 'Tx' AND tx.hash = '%X'", txHash),
	}
	events := map[string]<-chan ctypes.ResultEvent{}
	for name, q := range queries {
		ch, err := c.Subscribe(ctx, "interop", q, 64)
		must("subscribe", err)
		events[name] = ch
	}

	// Transactions.
	commit, err := c.BroadcastTxCommit(ctx, tx)
	must("broadcast_tx_commit", err)
	if commit.CheckTx.Code != 0 || commit.TxResult.Code != 0 || commit.Height <= 0 || !bytes.Equal(commit.Hash, txHash[:]) {
		t.Fatalf("broadcast_tx_commit: %+v", commit)
	}
	txHeight := commit.Height
	check, err := c.CheckTx(ctx, []byte("checked=only"))
	must("check_tx", err)
	if check.Code != 0 {
		t.Fatalf("check_tx of a good tx: code %d %s", check.Code, check.Log)
	}
	for method, send := range map[string]func(context.Context, cmttypes.Tx) (*ctypes.ResultBroadcastTx, error){
		"broadcast_tx_sync": c.BroadcastTxSync, "broadcast_tx_async": c.BroadcastTxAsync,
	} {
		other := []byte(method + "=x")
		res, err := send(ctx, other)
		must(method, err)
		if h := sha256.Sum256(other); res.Code != 0 || !bytes.Equal(res.Hash, h[:]) {
			t.Fatalf("%s: %+v", method, res)
		}
	}
	unconfirmed, err := c.UnconfirmedTxs(ctx, nil)
	must("unconfirmed_txs", err)
	numUnconfirmed, err := c.NumUnconfirmedTxs(ctx)
	must("num_unconfirmed_txs", err)
	if unconfirmed.Count != len(unconfirmed.Txs) || unconfirmed.Count > unconfirmed.Total || numUnconfirmed.Total < 0 {
		t.Fatalf("unconfirmed_txs %+v, num_unconfirmed_txs %+v", unconfirmed, numUnconfirmed)
	}

	found, err := c.Tx(ctx, txHash[:], false)
	must("tx", err)
	if found.Height != txHeight || !bytes.Equal(found.Tx, tx) || found.TxResult.Code != 0 || !bytes.Equal(found.Hash, txHash[:]) {
		t.Fatalf("tx: %+v, want the tx committed at %d", found, txHeight)
	}
	perPage := 100
	page := 1
	searched, err := c.TxSearch(ctx, "app.key = 'interop-key'", false, &page, &perPage, "asc")
	must("tx_search", err)
	if searched.TotalCount != 1 || len(searched.Txs) != 1 || searched.Txs[0].Height != txHeight || !bytes.Equal(searched.Txs[0].Tx, tx) {
		t.Fatalf("tx_search: %d results %+v", searched.TotalCount, searched.Txs)
	}
	blocks, err := c.BlockSearch(ctx, fmt.Sprintf("block.height = %d", txHeight), &page, &perPage, "desc")
	must("block_search", err)
	if blocks.TotalCount != 1 || len(blocks.Blocks) != 1 || blocks.Blocks[0].Block.Height != txHeight {
		t.Fatalf("block_search: %+v", blocks)
	}

	// Blocks and their parts, at the tx's height.
	block, err := c.Block(ctx, &txHeight)
	must("block", err)
	if block.Block.Height != txHeight || block.Block.ChainID != nw.chainID || !slices.ContainsFunc(block.Block.Txs, func(x cmttypes.Tx) bool { return bytes.Equal(x, tx) }) {
		t.Fatalf("block %d: height %d chain %q, %d txs", txHeight, block.Block.Height, block.Block.ChainID, len(block.Block.Txs))
	}
	if len(block.Block.LastCommit.Signatures) != 4 || block.Block.LastCommit.Height != txHeight-1 {
		t.Fatalf("block %d: last commit for %d with %d signatures", txHeight, block.Block.LastCommit.Height, len(block.Block.LastCommit.Signatures))
	}
	byHash, err := c.BlockByHash(ctx, block.BlockID.Hash)
	must("block_by_hash", err)
	if byHash.Block.Height != txHeight || !byHash.BlockID.Equals(block.BlockID) {
		t.Fatalf("block_by_hash %X: height %d", block.BlockID.Hash, byHash.Block.Height)
	}
	results, err := c.BlockResults(ctx, &txHeight)
	must("block_results", err)
	if results.Height != txHeight || len(results.TxsResults) != len(block.Block.Txs) || len(results.AppHash) == 0 {
		t.Fatalf("block_results %d: height %d, %d results for %d txs", txHeight, results.Height, len(results.TxsResults), len(block.Block.Txs))
	}
	header, err := c.Header(ctx, &txHeight)
	must("header", err)
	headerByHash, err := c.HeaderByHash(ctx, block.BlockID.Hash)
	must("header_by_hash", err)
	for _, h := range []*cmttypes.Header{header.Header, headerByHash.Header} {
		if h.Height != txHeight || h.ChainID != nw.chainID || !bytes.Equal(h.ProposerAddress, block.Block.ProposerAddress) {
			t.Fatalf("header: height %d chain %q proposer %X; the block has %d %q %X", h.Height, h.ChainID, h.ProposerAddress,
				block.Block.Height, block.Block.ChainID, block.Block.ProposerAddress)
		}
	}
	cm, err := c.Commit(ctx, &txHeight)
	must("commit", err)
	if cm.Header.Height != txHeight || cm.Commit.Height != txHeight || !cm.Commit.BlockID.Equals(block.BlockID) || len(cm.Commit.Signatures) != 4 {
		t.Fatalf("commit %d: header %d, commit %d for %v with %d signatures", txHeight, cm.Header.Height, cm.Commit.Height, cm.Commit.BlockID, len(cm.Commit.Signatures))
	}
	chain, err := c.BlockchainInfo(ctx, 1, txHeight)
	must("blockchain", err)
	if len(chain.BlockMetas) == 0 || chain.BlockMetas[0].Header.Height != txHeight || chain.LastHeight < txHeight {
		t.Fatalf("blockchain 1..%d: last height %d, %d metas", txHeight, chain.LastHeight, len(chain.BlockMetas))
	}
	for i, m := range chain.BlockMetas {
		if m.Header.Height != txHeight-int64(i) || m.Header.ChainID != nw.chainID {
			t.Fatalf("blockchain: meta %d is height %d of %q", i, m.Header.Height, m.Header.ChainID)
		}
	}

	// The chain's setup.
	genDoc, err := cmttypes.GenesisDocFromFile(filepath.Join(nd.home, genesisRel))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := c.Genesis(ctx)
	must("genesis", err)
	if gen.Genesis.ChainID != nw.chainID || len(gen.Genesis.Validators) != 4 {
		t.Fatalf("genesis: chain %q, %d validators", gen.Genesis.ChainID, len(gen.Genesis.Validators))
	}
	chunk, err := c.GenesisChunked(ctx, 0)
	must("genesis_chunked", err)
	data, err := base64.StdEncoding.DecodeString(chunk.Data)
	if err != nil || chunk.ChunkNumber != 0 || chunk.TotalChunks != 1 {
		t.Fatalf("genesis_chunked: chunk %d of %d, data: %v", chunk.ChunkNumber, chunk.TotalChunks, err)
	}
	if chunked, err := cmttypes.GenesisDocFromJSON(data); err != nil || chunked.ChainID != nw.chainID {
		t.Fatalf("genesis_chunked: the chunk is not the genesis: %v", err)
	}
	vals, err := c.Validators(ctx, &txHeight, &page, &perPage)
	must("validators", err)
	if vals.BlockHeight != txHeight || vals.Count != 4 || vals.Total != 4 || len(vals.Validators) != 4 {
		t.Fatalf("validators: %+v", vals)
	}
	for _, v := range vals.Validators {
		i := slices.IndexFunc(genDoc.Validators, func(g cmttypes.GenesisValidator) bool { return g.PubKey.Equals(v.PubKey) })
		if i < 0 || !bytes.Equal(v.Address, genDoc.Validators[i].Address) || v.VotingPower != genDoc.Validators[i].Power {
			t.Fatalf("validator %X (power %d) is not a genesis validator", v.Address, v.VotingPower)
		}
	}
	params, err := c.ConsensusParams(ctx, &txHeight)
	must("consensus_params", err)
	if params.BlockHeight != txHeight || params.ConsensusParams.Block != genDoc.ConsensusParams.Block ||
		params.ConsensusParams.Evidence != genDoc.ConsensusParams.Evidence || !slices.Equal(params.ConsensusParams.Validator.PubKeyTypes, []string{"ed25519"}) {
		t.Fatalf("consensus_params: %+v, genesis has %+v", params.ConsensusParams, genDoc.ConsensusParams)
	}

	// The node and its peers.
	_, err = c.Health(ctx)
	must("health", err)
	status, err := c.Status(ctx)
	must("status", err)
	checkStatus(t, nw, nd, status)
	// Committing needs only three of the four, so node0 may still be
	// connecting to the last one.
	var netInfo *ctypes.ResultNetInfo
	poll(t, nd.name+" to be connected to the three others", time.Minute, func() (bool, error) {
		netInfo, err = c.NetInfo(ctx)
		must("net_info", err)
		return netInfo.NPeers == len(nw.nodes)-1, nil
	})
	checkNetInfo(t, nw, nd, netInfo)
	for _, method := range []string{"dump_consensus_state", "consensus_state"} {
		var round json.RawMessage
		if method == "consensus_state" {
			r, err := c.ConsensusState(ctx)
			must(method, err)
			round = r.RoundState
		} else {
			r, err := c.DumpConsensusState(ctx)
			must(method, err)
			round = r.RoundState
		}
		var rs struct {
			HRS string `json:"height/round/step"`
		}
		if err := json.Unmarshal(round, &rs); err != nil {
			t.Fatalf("%s: round_state: %v", method, err)
		}
		if h, err := strconv.ParseInt(strings.Split(rs.HRS, "/")[0], 10, 64); err != nil || h < txHeight {
			t.Fatalf("%s: height/round/step %q, want a height of at least %d", method, rs.HRS, txHeight)
		}
	}

	// The application.
	info, err := c.ABCIInfo(ctx)
	must("abci_info", err)
	if info.Response.LastBlockHeight < txHeight || len(info.Response.LastBlockAppHash) == 0 {
		t.Fatalf("abci_info: %+v", info.Response)
	}
	query, err := c.ABCIQuery(ctx, "", []byte("interop-key"))
	must("abci_query", err)
	if query.Response.Code != 0 || string(query.Response.Value) != "interop-value" || query.Response.Height < txHeight {
		t.Fatalf("abci_query: %+v", query.Response)
	}

	checkBroadcastEvidence(ctx, t, c, nw)
	called["broadcast_evidence"] = true

	checkEvents(t, events, tx, txHeight, nw.chainID, clientLog)
	must("unsubscribe", c.Unsubscribe(ctx, "interop", queries["Tx"]))
	must("unsubscribe_all", c.UnsubscribeAll(ctx, "interop"))

	for _, m := range servedMethods(t, nd) {
		if !called[m] {
			t.Errorf("bftnode serves %q, which this test does not call: add it", m)
		}
	}
}

// cometClient is CometBFT's HTTP client for nd, its websocket started; its
// log (where it reports events it cannot decode) is returned.
func cometClient(t *testing.T, nd *bnode) (*rpchttp.HTTP, *syncBuffer) {
	t.Helper()
	c, err := rpchttp.New(nd.RPC(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	c.SetLogger(cmtlog.NewTMLogger(cmtlog.NewSyncWriter(logs)))
	if err := c.Start(); err != nil {
		t.Fatalf("CometBFT's client cannot open bftnode's websocket: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c, logs
}

// checkStatus compares /status with the node's key files, read by
// CometBFT's own loaders.
func checkStatus(t *testing.T, nw *network, nd *bnode, st *ctypes.ResultStatus) {
	t.Helper()
	nodeKey, err := p2p.LoadNodeKey(filepath.Join(nd.home, nodeKeyRel))
	if err != nil {
		t.Fatalf("CometBFT cannot load bftnode's node_key.json: %v", err)
	}
	if st.NodeInfo.ID() != nodeKey.ID() {
		t.Errorf("node_info.id %q, CometBFT derives %q from node_key.json", st.NodeInfo.ID(), nodeKey.ID())
	}
	if id, err := hex.DecodeString(string(st.NodeInfo.ID())); err != nil || len(id) != p2p.IDByteLength {
		t.Errorf("node_info.id %q is not %d bytes of hex", st.NodeInfo.ID(), p2p.IDByteLength)
	}
	if st.NodeInfo.Network != nw.chainID || st.NodeInfo.Moniker != nd.name || st.NodeInfo.Channels.String() == "" || !st.TxIndexEnabled() {
		t.Errorf("node_info: %+v", st.NodeInfo)
	}
	if !strings.HasSuffix(st.NodeInfo.ListenAddr, "/p2p/"+nd.peerID) {
		t.Errorf("node_info.listen_addr %q does not end in /p2p/%s", st.NodeInfo.ListenAddr, nd.peerID)
	}
	var raw struct {
		NodeInfo struct {
			Other struct {
				PeerID string `json:"libp2p_peer_id"`
			} `json:"other"`
		} `json:"node_info"`
	}
	if err := rawCall(nd.RPC(), "status", &raw); err != nil || raw.NodeInfo.Other.PeerID != nd.peerID {
		t.Errorf("node_info.other.libp2p_peer_id %q, want %s (%v)", raw.NodeInfo.Other.PeerID, nd.peerID, err)
	}
	pv := cometLoadFilePV(t, nd.home, false)
	pub, err := pv.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	checkValidatorInfo(t, nd.name, st.ValidatorInfo, pv.GetAddress(), pub.Bytes(), initPower)
	si := st.SyncInfo
	if si.LatestBlockHeight < 2 || si.EarliestBlockHeight != 1 || si.CatchingUp || len(si.LatestBlockHash) != sha256.Size ||
		si.LatestBlockTime.Before(si.EarliestBlockTime) {
		t.Errorf("sync_info: %+v", si)
	}
}

// checkNetInfo expects the three other nodes as peers, under the IDs
// CometBFT derives from their node_key.json.
func checkNetInfo(t *testing.T, nw *network, nd *bnode, ni *ctypes.ResultNetInfo) {
	t.Helper()
	want := map[p2p.ID]*bnode{}
	for _, q := range nw.nodes {
		if q != nd {
			k, err := p2p.LoadNodeKey(filepath.Join(q.home, nodeKeyRel))
			if err != nil {
				t.Fatal(err)
			}
			want[k.ID()] = q
		}
	}
	if !ni.Listening || len(ni.Listeners) == 0 || ni.NPeers != len(want) || len(ni.Peers) != len(want) {
		t.Fatalf("net_info: listening %v on %v, %d peers %+v; want %d", ni.Listening, ni.Listeners, ni.NPeers, ni.Peers, len(want))
	}
	for _, p := range ni.Peers {
		q, ok := want[p.NodeInfo.ID()]
		if !ok {
			t.Errorf("net_info: peer %q is none of %v", p.NodeInfo.ID(), want)
			continue
		}
		delete(want, p.NodeInfo.ID())
		if p.RemoteIP != "127.0.0.1" || p.NodeInfo.Network != nw.chainID || !strings.HasSuffix(p.NodeInfo.ListenAddr, "/p2p/"+q.peerID) {
			t.Errorf("net_info: peer %s: %+v", q.name, p)
		}
	}
}

// checkEvents waits for a NewBlock, a NewBlockHeader and the Tx event,
// each decoded by the client into CometBFT's event types.
func checkEvents(t *testing.T, events map[string]<-chan ctypes.ResultEvent, tx []byte, txHeight int64, chainID string, clientLog *syncBuffer) {
	t.Helper()
	for _, name := range []string{"NewBlock", "NewBlockHeader", "Tx"} {
		select {
		case ev := <-events[name]:
			var height int64
			switch d := ev.Data.(type) {
			case cmttypes.EventDataNewBlock:
				height = d.Block.Height
				if d.Block.ChainID != chainID || d.BlockID.Hash == nil || len(d.ResultFinalizeBlock.TxResults) != len(d.Block.Txs) {
					t.Errorf("NewBlock event: block %d of %q, id %v, %d results for %d txs", height, d.Block.ChainID, d.BlockID,
						len(d.ResultFinalizeBlock.TxResults), len(d.Block.Txs))
				}
			case cmttypes.EventDataNewBlockHeader:
				height = d.Header.Height
				if d.Header.ChainID != chainID {
					t.Errorf("NewBlockHeader event: chain %q", d.Header.ChainID)
				}
			case cmttypes.EventDataTx:
				height = d.Height
				if d.Height != txHeight || !bytes.Equal(d.Tx, tx) || d.Result.Code != 0 {
					t.Errorf("Tx event: %+v, want the tx committed at %d", d.TxResult, txHeight)
				}
			default:
				t.Fatalf("%s subscription delivered %T", name, ev.Data)
			}
			if height <= 0 || !slices.Equal(ev.Events["tm.event"], []string{name}) {
				t.Errorf("%s event: height %d, tm.event %v", name, height, ev.Events["tm.event"])
			}
		case <-time.After(time.Minute):
			t.Fatalf("no %s event decoded by CometBFT's client within a minute; its log:\n%s", name, clientLog.String())
		}
	}
}

// servedMethods lists the methods bftnode serves: those GET / lists, and the
// websocket-only ones.
func servedMethods(t *testing.T, nd *bnode) []string {
	t.Helper()
	resp, err := http.Get(nd.RPC() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	methods := append([]string(nil), wsOnlyMethods...)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "/"); ok {
			name, _, _ := strings.Cut(line, "?")
			methods = append(methods, name)
		}
	}
	if err := sc.Err(); err != nil || len(methods) <= len(wsOnlyMethods) {
		t.Fatalf("GET / listed no methods (%v)", err)
	}
	return methods
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
