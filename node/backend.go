package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/blockstore/index"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	"github.com/bftnode/bftnode/evidence"
	"github.com/bftnode/bftnode/mempool"
	"github.com/bftnode/bftnode/p2p"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

// backend answers the JSON-RPC from the node's parts.
type backend struct{ n *Node }

var _ rpc.Backend = (*backend)(nil)

func (b *backend) Heights(context.Context) (int64, int64, error) {
	return b.n.store.Base(), b.n.store.Height(), nil
}

func (b *backend) nodeInfo() rpc.NodeInfo {
	n := b.n
	listen := ""
	if addrs := n.transport.Addrs(); len(addrs) > 0 {
		listen = addrs[0]
	}
	id := n.transport.ID()
	nodeID, _ := config.NodeIDOfPeer(id) // our own key is always Ed25519
	return rpc.NodeInfo{
		ID: nodeID, PeerID: id.String(), ListenAddr: listen, Network: n.genesis.ChainID,
		Version: Version, Moniker: n.cfg.Moniker, RPCAddress: n.cfg.RPC.ListenAddress, TxIndex: true,
	}
}

func (b *backend) Status(context.Context) (*rpc.Status, error) {
	n := b.n
	st := &rpc.Status{Node: b.nodeInfo()}
	if latest := n.store.Height(); latest > 0 {
		state, err := n.store.LoadState()
		if err != nil {
			return nil, err
		}
		top, err := n.store.LoadBlockMeta(latest)
		if err != nil {
			return nil, err
		}
		bottom, err := b.earliest()
		if err != nil {
			return nil, err
		}
		st.Sync = rpc.SyncInfo{
			LatestBlockHash: top.BlockID.Hash, LatestAppHash: state.AppHash,
			LatestBlockHeight: latest, LatestBlockTime: top.Header.Time,
			EarliestBlockHash: bottom.BlockID.Hash, EarliestAppHash: bottom.Header.AppHash,
			EarliestBlockHeight: bottom.Header.Height, EarliestBlockTime: bottom.Header.Time,
		}
		_, val := state.Validators.ByAddress(n.signer.Address())
		if val != nil {
			st.Validator.VotingPower = val.VotingPower
		}
	}
	st.Validator.Address, st.Validator.PubKey = n.signer.Address(), n.signer.PubKey()
	return st, nil
}

// earliest is the meta of the lowest stored block. The pruner may move the
// base between reading it and loading its meta: then the new base's is
// read.
func (b *backend) earliest() (*blockstore.BlockMeta, error) {
	for {
		base := b.n.store.Base()
		m, err := b.n.store.LoadBlockMeta(base)
		if err == nil || !errors.Is(err, blockstore.ErrNotFound) || b.n.store.Base() == base {
			return m, err
		}
	}
}

func (b *backend) NetInfo(context.Context) (*rpc.NetInfo, error) {
	n := b.n
	info := &rpc.NetInfo{Listening: true, Listeners: n.transport.Addrs()}
	ids := n.transport.Peers()
	slices.Sort(ids)
	for _, id := range ids {
		info.Peers = append(info.Peers, b.peer(id))
	}
	return info, nil
}

// peer describes a connected peer from its ID and its libp2p connection.
// Its listen address is the one we dialled for an outbound connection, else
// the least of the addresses the peerstore holds for it (announced by the
// peer or configured: an inbound connection's remote port is ephemeral). Its
// moniker is not known: libp2p does not exchange one.
func (b *backend) peer(id peer.ID) rpc.Peer {
	n := b.n
	p := rpc.Peer{Node: rpc.NodeInfo{PeerID: id.String(), Network: n.genesis.ChainID}}
	p.Node.ID, _ = config.NodeIDOfPeer(id)
	h := n.transport.Host()
	conns := h.Network().ConnsToPeer(id)
	if len(conns) == 0 {
		return p
	}
	c := conns[0]
	if ip, err := manet.ToIP(c.RemoteMultiaddr()); err == nil {
		p.RemoteIP = ip.String()
	}
	listen := c.RemoteMultiaddr()
	p.IsOutbound = c.Stat().Direction == network.DirOutbound
	if announced := h.Peerstore().Addrs(id); !p.IsOutbound && len(announced) > 0 {
		slices.SortFunc(announced, func(x, y ma.Multiaddr) int { return strings.Compare(x.String(), y.String()) })
		listen = announced[0]
	}
	p.Node.ListenAddr = p2p.FormatPeerMultiaddr(id, listen)
	return p
}

func (b *backend) Genesis(context.Context) (json.RawMessage, error) {
	return json.RawMessage(b.n.genJSON), nil
}

// notFound marks a missing block or tx for the RPC. A missing tx keeps the
// index's text ("tx <hash> not found"), which clients see.
func notFound(err error) error {
	switch {
	case errors.Is(err, blockstore.ErrNotFound):
		return fmt.Errorf("%w: %w", rpc.ErrNotFound, err)
	case errors.Is(err, index.ErrNotFound):
		return missingTx{err}
	}
	return err
}

// missingTx is an index error that also wraps rpc.ErrNotFound.
type missingTx struct{ error }

func (e missingTx) Unwrap() []error { return []error{e.error, rpc.ErrNotFound} }

func (b *backend) BlockMeta(_ context.Context, h int64) (*blockstore.BlockMeta, error) {
	m, err := b.n.store.LoadBlockMeta(h)
	return m, notFound(err)
}

func (b *backend) Block(_ context.Context, h int64) (*types.Block, types.BlockID, error) {
	blk, err := b.n.store.LoadBlock(h)
	if err != nil {
		return nil, types.BlockID{}, notFound(err)
	}
	m, err := b.n.store.LoadBlockMeta(h)
	if err != nil {
		return nil, types.BlockID{}, notFound(err)
	}
	return blk, m.BlockID, nil
}

func (b *backend) BlockByHash(ctx context.Context, hash types.Hash) (*types.Block, types.BlockID, error) {
	blk, err := b.n.store.LoadBlockByHash(hash)
	if err != nil {
		return nil, types.BlockID{}, notFound(err)
	}
	return b.Block(ctx, blk.Header.Height)
}

func (b *backend) BlockResults(_ context.Context, h int64) (*abci.ResponseFinalizeBlock, error) {
	r, err := b.n.finalizeResponse(h)
	return r, notFound(err)
}

func (b *backend) Commit(_ context.Context, h int64) (*types.Commit, bool, error) {
	if h < b.n.store.Height() {
		c, err := b.n.store.LoadBlockCommit(h)
		return c, true, notFound(err)
	}
	c, err := b.n.store.LoadSeenCommit(h)
	return c, false, notFound(err)
}

func (b *backend) Validators(_ context.Context, h int64) (*types.ValidatorSet, error) {
	vs, err := b.n.store.LoadValidators(h)
	return vs, notFound(err)
}

func (b *backend) ConsensusState(context.Context) (*rpc.ConsensusState, error) {
	rs := b.n.round.Load()
	if rs == nil {
		return &rpc.ConsensusState{Step: rpc.StepNewHeight}, nil
	}
	cs := &rpc.ConsensusState{
		Height: rs.Height, Round: rs.Round,
		LockedBlockHash: rs.LockedValue.Hash, ValidBlockHash: rs.ValidValue.Hash,
	}
	switch {
	case rs.Decided:
		cs.Step = rpc.StepCommit
	case rs.Step == consensus.StepPropose:
		cs.Step = rpc.StepPropose
	case rs.Step == consensus.StepPrevote:
		cs.Step = rpc.StepPrevote
	default:
		cs.Step = rpc.StepPrecommit
	}
	if vals, err := b.n.store.LoadValidators(rs.Height); err == nil {
		p := vals.ProposerForRound(rs.Round)
		cs.ProposerAddress = p.Address
		cs.ProposerIndex, _ = vals.ByAddress(p.Address)
	}
	return cs, nil
}

func (b *backend) ABCIInfo(ctx context.Context) (*abci.ResponseInfo, error) {
	return b.n.app.app.Info(ctx, &abci.RequestInfo{Version: Version})
}

func (b *backend) ABCIQuery(ctx context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	return b.n.app.app.Query(ctx, req)
}

func (b *backend) CheckTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return b.n.app.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
}

// BroadcastTx admits tx to the mempool, from which the transport gossips
// it. The application's refusal is a result with its code and log; the
// mempool's own refusals (full, too large, already seen or committed) are
// errors that say which.
func (b *backend) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	if b.n.appPool != nil {
		return checkTxResponse(b.n.appPool.CheckTx(ctx, tx))
	}
	return checkTxResponse(b.n.mempool.CheckTx(ctx, tx))
}

// checkTxResponse is the answer to a broadcast of a tx the mempool checked
// with this result and error.
func checkTxResponse(res mempool.CheckResult, err error) (*abci.ResponseCheckTx, error) {
	if err != nil && !errors.Is(err, mempool.ErrRejected) {
		return nil, err
	}
	return &abci.ResponseCheckTx{Code: res.Code, Log: res.Log, GasWanted: res.GasWanted}, nil
}

// BroadcastEvidence adds ev to the pool; the pool's refusal is the
// caller's bad parameter (an invalid-params error saying why), a failure
// of its database an internal error.
func (b *backend) BroadcastEvidence(_ context.Context, ev types.Evidence) error {
	err := b.n.evidence.Add(ev)
	if evidence.Refused(err) {
		return fmt.Errorf("%w: %w", rpc.ErrInvalidParams, err)
	}
	return err
}

func (b *backend) ReserveMempool(size int) (rpc.MempoolReservation, error) {
	if b.n.appPool != nil {
		return appReservation{b}, nil // nothing to hold: the application keeps the txs
	}
	r, err := b.n.mempool.Reserve(size)
	if err != nil {
		return nil, err
	}
	return reservation{r}, nil
}

// reservation is room held in the mempool for one RPC broadcast.
type reservation struct{ r *mempool.Reservation }

func (r reservation) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return checkTxResponse(r.r.CheckTx(ctx, tx))
}

func (r reservation) Release() { r.r.Release() }

// appReservation is an RPC broadcast with an app-side mempool.
type appReservation struct{ b *backend }

func (r appReservation) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return r.b.BroadcastTx(ctx, tx)
}

func (appReservation) Release() {}

func (b *backend) UnconfirmedTxs(_ context.Context, limit int) (*rpc.UnconfirmedTxs, error) {
	mp := b.n.mempool
	txs := mp.ReapMaxBytesMaxGas(-1, -1)
	if limit > 0 && len(txs) > limit {
		txs = txs[:limit]
	}
	return &rpc.UnconfirmedTxs{Txs: txs, Total: mp.Size(), TotalBytes: mp.SizeBytes()}, nil
}

func (b *backend) Tx(ctx context.Context, hash types.Hash) (*eventbus.TxResult, error) {
	tr, err := b.n.index.Tx(ctx, hash)
	return tr, notFound(err)
}

func (b *backend) TxSearch(ctx context.Context, q *query.Query) ([]*eventbus.TxResult, error) {
	return b.n.index.TxSearch(ctx, q)
}

func (b *backend) BlockSearch(ctx context.Context, q *query.Query) ([]int64, error) {
	return b.n.index.BlockSearch(ctx, q)
}

func (b *backend) Subscribe(ctx context.Context, q *query.Query) (<-chan eventbus.Event, error) {
	return b.n.bus.Subscribe(ctx, q)
}
