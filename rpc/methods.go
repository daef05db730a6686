package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
)

// handlerFunc serves one method.
type handlerFunc func(ctx context.Context, a *args) (any, error)

// method is one RPC method: its parameter names (the order of positional
// params) and its handler. wsOnly methods are served on the websocket only.
type method struct {
	params []string
	fn     handlerFunc
	wsOnly bool
}

// Paging limits, as in CometBFT.
const (
	defaultPerPage    = 30
	maxPerPage        = 100
	maxBlockchainInfo = 20
)

func (s *Server) methodTable() map[string]method {
	return map[string]method{
		"health":               {fn: s.health},
		"status":               {fn: s.status},
		"net_info":             {fn: s.netInfo},
		"genesis":              {fn: s.genesis},
		"genesis_chunked":      {params: []string{"chunk"}, fn: s.genesisChunked},
		"blockchain":           {params: []string{"minHeight", "maxHeight"}, fn: s.blockchain},
		"block":                {params: []string{"height"}, fn: s.block},
		"block_by_hash":        {params: []string{"hash"}, fn: s.blockByHash},
		"block_results":        {params: []string{"height"}, fn: s.blockResults},
		"header":               {params: []string{"height"}, fn: s.header},
		"header_by_hash":       {params: []string{"hash"}, fn: s.headerByHash},
		"commit":               {params: []string{"height"}, fn: s.commit},
		"validators":           {params: []string{"height", "page", "per_page"}, fn: s.validators},
		"consensus_params":     {params: []string{"height"}, fn: s.consensusParams},
		"consensus_state":      {fn: s.consensusState},
		"abci_info":            {fn: s.abciInfo},
		"abci_query":           {params: []string{"path", "data", "height", "prove"}, fn: s.abciQuery},
		"check_tx":             {params: []string{"tx"}, fn: s.checkTx},
		"broadcast_tx_async":   {params: []string{"tx"}, fn: s.broadcastTxAsync},
		"broadcast_tx_sync":    {params: []string{"tx"}, fn: s.broadcastTxSync},
		"broadcast_tx_commit":  {params: []string{"tx"}, fn: s.broadcastTxCommit},
		"tx":                   {params: []string{"hash", "prove"}, fn: s.tx},
		"tx_search":            {params: []string{"query", "prove", "page", "per_page", "order_by"}, fn: s.txSearch},
		"block_search":         {params: []string{"query", "page", "per_page", "order_by"}, fn: s.blockSearch},
		"unconfirmed_txs":      {params: []string{"limit"}, fn: s.unconfirmedTxs},
		"num_unconfirmed_txs":  {fn: s.numUnconfirmedTxs},
		"subscribe":            {params: []string{"query"}, wsOnly: true},
		"unsubscribe":          {params: []string{"query"}, wsOnly: true},
		"unsubscribe_all":      {wsOnly: true},
		"broadcast_evidence":   {params: []string{"evidence"}, fn: s.broadcastEvidence},
		"dump_consensus_state": {fn: s.consensusState},
	}
}

func (s *Server) health(context.Context, *args) (any, error) { return struct{}{}, nil }

// resolveHeight reads an optional height parameter: absent or 0 means the
// latest height; others must lie within the stored range.
func (s *Server) resolveHeight(ctx context.Context, a *args, name string) (int64, error) {
	h, err := a.Int64(name, 0)
	if err != nil {
		return 0, err
	}
	if h < 0 {
		return 0, badParam(name, "height must be greater than 0, but got %d", h)
	}
	base, latest, err := s.backend.Heights(ctx)
	if err != nil {
		return 0, err
	}
	if latest == 0 {
		return 0, fmt.Errorf("%w: no blocks yet", ErrNotFound)
	}
	switch {
	case h == 0:
		return latest, nil
	case h > latest:
		return 0, fmt.Errorf("height %d must be less than or equal to the current blockchain height %d", h, latest)
	case h < base:
		return 0, fmt.Errorf("height %d is not available, lowest height is %d", h, base)
	}
	return h, nil
}

type nodeInfoView struct {
	ProtocolVersion struct {
		P2P   uint64s `json:"p2p"`
		Block uint64s `json:"block"`
		App   uint64s `json:"app"`
	} `json:"protocol_version"`
	ID         string `json:"id"`
	ListenAddr string `json:"listen_addr"`
	Network    string `json:"network"`
	Version    string `json:"version"`
	Channels   string `json:"channels"`
	Moniker    string `json:"moniker"`
	Other      struct {
		TxIndex    string `json:"tx_index"`
		RPCAddress string `json:"rpc_address"`
		PeerID     string `json:"libp2p_peer_id"`
	} `json:"other"`
}

// channelsHex is node_info.channels: the CometBFT channel IDs of what
// bftnode serves over its libp2p protocols (block sync 0x40, consensus
// 0x20-0x23, mempool 0x30). Some clients (CosmJS) refuse an empty list.
const channelsHex = "402021222330"

func viewNodeInfo(n *NodeInfo) nodeInfoView {
	var v nodeInfoView
	v.ProtocolVersion.P2P, v.ProtocolVersion.Block, v.ProtocolVersion.App = p2pProtocol, blockProtocol, uint64s(n.AppVersion)
	v.ID, v.ListenAddr, v.Network, v.Version, v.Moniker = n.ID, n.ListenAddr, n.Network, n.Version, n.Moniker
	v.Channels = channelsHex
	v.Other.TxIndex, v.Other.RPCAddress, v.Other.PeerID = "off", n.RPCAddress, n.PeerID
	if n.TxIndex {
		v.Other.TxIndex = "on"
	}
	return v
}

type syncInfoView struct {
	LatestBlockHash     hexBytes `json:"latest_block_hash"`
	LatestAppHash       hexBytes `json:"latest_app_hash"`
	LatestBlockHeight   int64s   `json:"latest_block_height"`
	LatestBlockTime     rfcTime  `json:"latest_block_time"`
	EarliestBlockHash   hexBytes `json:"earliest_block_hash"`
	EarliestAppHash     hexBytes `json:"earliest_app_hash"`
	EarliestBlockHeight int64s   `json:"earliest_block_height"`
	EarliestBlockTime   rfcTime  `json:"earliest_block_time"`
	CatchingUp          bool     `json:"catching_up"`
}

type validatorInfoView struct {
	Address     hexBytes    `json:"address"`
	PubKey      *pubKeyView `json:"pub_key"`
	VotingPower int64s      `json:"voting_power"`
}

type resultStatus struct {
	NodeInfo      nodeInfoView      `json:"node_info"`
	SyncInfo      syncInfoView      `json:"sync_info"`
	ValidatorInfo validatorInfoView `json:"validator_info"`
}

func (s *Server) status(ctx context.Context, _ *args) (any, error) {
	st, err := s.backend.Status(ctx)
	if err != nil {
		return nil, err
	}
	si := st.Sync
	return resultStatus{
		NodeInfo: viewNodeInfo(&st.Node),
		SyncInfo: syncInfoView{
			LatestBlockHash: hashHex(si.LatestBlockHash[:]), LatestAppHash: hexBytes(si.LatestAppHash),
			LatestBlockHeight: int64s(si.LatestBlockHeight), LatestBlockTime: rfcTime(si.LatestBlockTime),
			EarliestBlockHash: hashHex(si.EarliestBlockHash[:]), EarliestAppHash: hexBytes(si.EarliestAppHash),
			EarliestBlockHeight: int64s(si.EarliestBlockHeight), EarliestBlockTime: rfcTime(si.EarliestBlockTime),
			CatchingUp: si.CatchingUp,
		},
		ValidatorInfo: validatorInfoView{Address: hexBytes(st.Validator.Address[:]),
			PubKey: viewPubKey(st.Validator.PubKey), VotingPower: int64s(st.Validator.VotingPower)},
	}, nil
}

type peerView struct {
	NodeInfo         nodeInfoView `json:"node_info"`
	IsOutbound       bool         `json:"is_outbound"`
	ConnectionStatus struct{}     `json:"connection_status"`
	RemoteIP         string       `json:"remote_ip"`
}

type resultNetInfo struct {
	Listening bool       `json:"listening"`
	Listeners []string   `json:"listeners"`
	NPeers    int64s     `json:"n_peers"`
	Peers     []peerView `json:"peers"`
}

func (s *Server) netInfo(ctx context.Context, _ *args) (any, error) {
	ni, err := s.backend.NetInfo(ctx)
	if err != nil {
		return nil, err
	}
	out := resultNetInfo{Listening: ni.Listening, Listeners: ni.Listeners, NPeers: int64s(len(ni.Peers)), Peers: []peerView{}}
	if out.Listeners == nil {
		out.Listeners = []string{}
	}
	for i := range ni.Peers {
		p := &ni.Peers[i]
		out.Peers = append(out.Peers, peerView{NodeInfo: viewNodeInfo(&p.Node), IsOutbound: p.IsOutbound, RemoteIP: p.RemoteIP})
	}
	return out, nil
}

func (s *Server) genesis(ctx context.Context, _ *args) (any, error) {
	g, err := s.backend.Genesis(ctx)
	if err != nil {
		return nil, err
	}
	if !json.Valid(g) {
		return nil, fmt.Errorf("genesis document is not valid JSON")
	}
	return struct {
		Genesis json.RawMessage `json:"genesis"`
	}{g}, nil
}

// genesisChunkSize is the size of a genesis_chunked chunk, as in CometBFT.
const genesisChunkSize = 16 * 1024 * 1024

func (s *Server) genesisChunked(ctx context.Context, a *args) (any, error) {
	chunk, err := a.Int64("chunk", 0)
	if err != nil {
		return nil, err
	}
	g, err := s.backend.Genesis(ctx)
	if err != nil {
		return nil, err
	}
	total := max(1, (int64(len(g))+genesisChunkSize-1)/genesisChunkSize)
	if chunk < 0 || chunk >= total {
		return nil, badParam("chunk", "there are %d chunks, %d is invalid", total, chunk)
	}
	lo := chunk * genesisChunkSize
	hi := min(int64(len(g)), lo+genesisChunkSize)
	return struct {
		Chunk int64s `json:"chunk"`
		Total int64s `json:"total"`
		Data  []byte `json:"data"`
	}{int64s(chunk), int64s(total), g[lo:hi]}, nil
}

type resultBlockchain struct {
	LastHeight int64s          `json:"last_height"`
	BlockMetas []blockMetaView `json:"block_metas"`
}

func (s *Server) blockchain(ctx context.Context, a *args) (any, error) {
	minH, err := a.Int64("minHeight", 0)
	if err != nil {
		return nil, err
	}
	maxH, err := a.Int64("maxHeight", 0)
	if err != nil {
		return nil, err
	}
	if minH < 0 || maxH < 0 {
		return nil, badParam("minHeight", "heights must be non-negative")
	}
	base, latest, err := s.backend.Heights(ctx)
	if err != nil {
		return nil, err
	}
	out := resultBlockchain{LastHeight: int64s(latest), BlockMetas: []blockMetaView{}}
	if latest == 0 {
		return out, nil
	}
	if maxH == 0 || maxH > latest {
		maxH = latest
	}
	minH = max(minH, base, maxH-maxBlockchainInfo+1)
	if minH > maxH {
		return nil, badParam("minHeight", "min height %d can't be greater than max height %d", minH, maxH)
	}
	for h := maxH; h >= minH; h-- {
		m, err := s.backend.BlockMeta(ctx, h)
		if err != nil {
			return nil, err
		}
		out.BlockMetas = append(out.BlockMetas, viewBlockMeta(m))
	}
	return out, nil
}

func (s *Server) block(ctx context.Context, a *args) (any, error) {
	h, err := s.resolveHeight(ctx, a, "height")
	if err != nil {
		return nil, err
	}
	b, id, err := s.backend.Block(ctx, h)
	if err != nil {
		return nil, err
	}
	return resultBlock{BlockID: viewBlockID(id), Block: viewBlock(b)}, nil
}

func (s *Server) blockByHash(ctx context.Context, a *args) (any, error) {
	hash, err := a.Hash("hash")
	if err != nil {
		return nil, err
	}
	b, id, err := s.backend.BlockByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	return resultBlock{BlockID: viewBlockID(id), Block: viewBlock(b)}, nil
}

func (s *Server) blockResults(ctx context.Context, a *args) (any, error) {
	h, err := s.resolveHeight(ctx, a, "height")
	if err != nil {
		return nil, err
	}
	r, err := s.backend.BlockResults(ctx, h)
	if err != nil {
		return nil, err
	}
	return viewBlockResults(h, r), nil
}

func (s *Server) header(ctx context.Context, a *args) (any, error) {
	h, err := s.resolveHeight(ctx, a, "height")
	if err != nil {
		return nil, err
	}
	m, err := s.backend.BlockMeta(ctx, h)
	if err != nil {
		return nil, err
	}
	return struct {
		Header *headerView `json:"header"`
	}{viewHeader(&m.Header)}, nil
}

func (s *Server) headerByHash(ctx context.Context, a *args) (any, error) {
	hash, err := a.Hash("hash")
	if err != nil {
		return nil, err
	}
	b, _, err := s.backend.BlockByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	return struct {
		Header *headerView `json:"header"`
	}{viewHeader(&b.Header)}, nil
}

type resultCommit struct {
	SignedHeader struct {
		Header *headerView `json:"header"`
		Commit *commitView `json:"commit"`
	} `json:"signed_header"`
	Canonical bool `json:"canonical"`
}

func (s *Server) commit(ctx context.Context, a *args) (any, error) {
	h, err := s.resolveHeight(ctx, a, "height")
	if err != nil {
		return nil, err
	}
	m, err := s.backend.BlockMeta(ctx, h)
	if err != nil {
		return nil, err
	}
	c, canonical, err := s.backend.Commit(ctx, h)
	if err != nil {
		return nil, err
	}
	var out resultCommit
	out.SignedHeader.Header, out.SignedHeader.Commit, out.Canonical = viewHeader(&m.Header), viewCommit(c), canonical
	return out, nil
}

// paginate validates page and perPage for total items and returns the
// slice bounds [lo, hi).
func paginate(a *args, total int) (lo, hi int, err error) {
	perPage, err := a.Int64("per_page", defaultPerPage)
	if err != nil {
		return 0, 0, err
	}
	if perPage < 1 {
		perPage = defaultPerPage
	}
	perPage = min(perPage, maxPerPage)
	pages := max(1, (int64(total)+perPage-1)/perPage)
	page, err := a.Int64("page", 1)
	if err != nil {
		return 0, 0, err
	}
	if page < 1 || page > pages {
		return 0, 0, badParam("page", "page should be within [1, %d] range, given %d", pages, page)
	}
	lo = int((page - 1) * perPage)
	hi = min(total, lo+int(perPage))
	return lo, hi, nil
}

type resultValidators struct {
	BlockHeight int64s          `json:"block_height"`
	Validators  []validatorView `json:"validators"`
	Count       int64s          `json:"count"`
	Total       int64s          `json:"total"`
}

func (s *Server) validators(ctx context.Context, a *args) (any, error) {
	h, err := s.resolveHeight(ctx, a, "height")
	if err != nil {
		return nil, err
	}
	vs, err := s.backend.Validators(ctx, h)
	if err != nil {
		return nil, err
	}
	lo, hi, err := paginate(a, vs.Size())
	if err != nil {
		return nil, err
	}
	out := resultValidators{BlockHeight: int64s(h), Validators: []validatorView{}, Count: int64s(hi - lo), Total: int64s(vs.Size())}
	for _, v := range vs.Validators[lo:hi] {
		out.Validators = append(out.Validators, viewValidator(v))
	}
	return out, nil
}

func (s *Server) consensusParams(ctx context.Context, a *args) (any, error) {
	h, err := s.resolveHeight(ctx, a, "height")
	if err != nil {
		return nil, err
	}
	p, err := s.backend.ConsensusParams(ctx, h)
	if err != nil {
		return nil, err
	}
	return struct {
		BlockHeight     int64s               `json:"block_height"`
		ConsensusParams *consensusParamsView `json:"consensus_params"`
	}{int64s(h), viewConsensusParams(p)}, nil
}

type roundStateView struct {
	HeightRoundStep   string   `json:"height/round/step"`
	StartTime         rfcTime  `json:"start_time"`
	ProposalBlockHash hexBytes `json:"proposal_block_hash"`
	LockedBlockHash   hexBytes `json:"locked_block_hash"`
	ValidBlockHash    hexBytes `json:"valid_block_hash"`
	HeightVoteSet     []string `json:"height_vote_set"`
	Proposer          struct {
		Address hexBytes `json:"address"`
		Index   int32    `json:"index"`
	} `json:"proposer"`
}

func (s *Server) consensusState(ctx context.Context, _ *args) (any, error) {
	cs, err := s.backend.ConsensusState(ctx)
	if err != nil {
		return nil, err
	}
	rs := roundStateView{
		HeightRoundStep:   fmt.Sprintf("%d/%d/%d", cs.Height, cs.Round, cs.Step),
		StartTime:         rfcTime(cs.StartTime),
		ProposalBlockHash: hashHex(cs.ProposalBlockHash[:]),
		LockedBlockHash:   hashHex(cs.LockedBlockHash[:]),
		ValidBlockHash:    hashHex(cs.ValidBlockHash[:]),
		HeightVoteSet:     []string{},
	}
	rs.Proposer.Address, rs.Proposer.Index = hashHex(cs.ProposerAddress[:]), cs.ProposerIndex
	return struct {
		RoundState roundStateView `json:"round_state"`
	}{rs}, nil
}

type abciInfoView struct {
	Data             string  `json:"data"`
	Version          string  `json:"version"`
	AppVersion       uint64s `json:"app_version"`
	LastBlockHeight  int64s  `json:"last_block_height"`
	LastBlockAppHash []byte  `json:"last_block_app_hash"`
}

func (s *Server) abciInfo(ctx context.Context, _ *args) (any, error) {
	r, err := s.backend.ABCIInfo(ctx)
	if err != nil {
		return nil, err
	}
	return struct {
		Response abciInfoView `json:"response"`
	}{abciInfoView{Data: r.Data, Version: r.Version, AppVersion: uint64s(r.AppVersion),
		LastBlockHeight: int64s(r.LastBlockHeight), LastBlockAppHash: r.LastBlockAppHash}}, nil
}

type abciQueryView struct {
	Code      uint32        `json:"code"`
	Log       string        `json:"log"`
	Info      string        `json:"info"`
	Index     int64s        `json:"index"`
	Key       []byte        `json:"key"`
	Value     []byte        `json:"value"`
	ProofOps  *proofOpsView `json:"proof_ops"`
	Height    int64s        `json:"height"`
	Codespace string        `json:"codespace"`
}

// proofOpsView is the proof an app gives with a query (CometBFT's
// crypto.ProofOps JSON: key and data in base64); null when it gives none.
type proofOpsView struct {
	Ops []proofOpView `json:"ops"`
}

type proofOpView struct {
	Type string `json:"type"`
	Key  []byte `json:"key"`
	Data []byte `json:"data"`
}

func viewProofOps(p *crypto.ProofOps) *proofOpsView {
	if p == nil {
		return nil
	}
	v := &proofOpsView{Ops: make([]proofOpView, len(p.Ops))}
	for i, op := range p.Ops {
		v.Ops[i] = proofOpView{Type: op.Type, Key: op.Key, Data: op.Data}
	}
	return v
}

func (s *Server) abciQuery(ctx context.Context, a *args) (any, error) {
	path, err := a.String("path", "")
	if err != nil {
		return nil, err
	}
	data, err := a.HexData("data")
	if err != nil {
		return nil, err
	}
	height, err := a.Int64("height", 0)
	if err != nil {
		return nil, err
	}
	prove, err := a.Bool("prove", false)
	if err != nil {
		return nil, err
	}
	r, err := s.backend.ABCIQuery(ctx, &abci.RequestQuery{Path: path, Data: data, Height: height, Prove: prove})
	if err != nil {
		return nil, err
	}
	return struct {
		Response abciQueryView `json:"response"`
	}{abciQueryView{Code: r.Code, Log: r.Log, Info: r.Info, Index: int64s(r.Index), Key: r.Key, Value: r.Value,
		ProofOps: viewProofOps(r.ProofOps), Height: int64s(r.Height), Codespace: r.Codespace}}, nil
}

// sortedKeys returns a map's keys in order, for deterministic listings.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
