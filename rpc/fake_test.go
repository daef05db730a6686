package rpc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/blockstore/index"
	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

const testChainID = "test-chain"

// genesisTime is the time of block 1; block h is h-1 seconds later.
var genesisTime = time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)

// fakeBackend is an in-memory chain: blocks with one tx each, results with
// a "transfer" event per tx, a mempool, an event bus and an index.
type fakeBackend struct {
	bus  *eventbus.Bus
	ix   *index.Index
	vals *types.ValidatorSet
	keys []ed25519.PrivateKey

	mu        sync.Mutex
	blocks    []*types.Block
	ids       []types.BlockID
	results   []*abci.ResponseFinalizeBlock
	mempool   [][]byte
	checkCode uint32 // CheckTx code for every tx
	autoBlock bool   // BroadcastTx commits the tx in a new block at once
	panicIn   string // method name whose handler panics
	roomErr   error  // ReserveMempool's answer (a full mempool)
	evidence  []types.Evidence
	evErr     error // BroadcastEvidence's answer
	// gate, when not nil, holds every BroadcastTx until it is closed;
	// inFlight counts those held, maxInFlight the most at once.
	gate                  chan struct{}
	inFlight, maxInFlight int
}

// hold waits for f.gate, if set, counting the calls waiting.
func (f *fakeBackend) hold(ctx context.Context) {
	f.mu.Lock()
	gate := f.gate
	if gate != nil {
		f.inFlight++
		f.maxInFlight = max(f.maxInFlight, f.inFlight)
	}
	f.mu.Unlock()
	if gate == nil {
		return
	}
	select {
	case <-gate:
	case <-ctx.Done():
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

// openTestIndex opens an index in memory, closed when the test ends.
func openTestIndex(tb testing.TB) *index.Index {
	tb.Helper()
	ix, err := index.Open("index", index.Options{FS: vfs.NewMem()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ix.Close() })
	return ix
}

func newFakeBackend(t testing.TB, heights int) *fakeBackend {
	t.Helper()
	f := &fakeBackend{bus: eventbus.New(nil, 0), ix: openTestIndex(t)}
	var vals []*types.Validator
	for i := range 3 {
		seed := sha256.Sum256([]byte{byte(i)})
		k := ed25519.NewKeyFromSeed(seed[:])
		f.keys = append(f.keys, k)
		vals = append(vals, types.NewValidator(k.Public().(ed25519.PublicKey), int64(10*(i+1))))
	}
	vs, err := types.NewValidatorSet(vals)
	if err != nil {
		t.Fatal(err)
	}
	f.vals = vs
	for h := 1; h <= heights; h++ {
		f.commitBlock([][]byte{[]byte(fmt.Sprintf("k%d=v%d", h, h))})
	}
	return f
}

// txResult is the result the fake app gives tx: a transfer event whose key
// is the tx's key ("a" for "a=b").
func txResult(tx []byte) *abci.ExecTxResult {
	key, _, _ := bytes.Cut(tx, []byte("="))
	return &abci.ExecTxResult{Code: 0, Data: []byte("ok"), Log: "applied", GasWanted: 7, GasUsed: 5,
		Events: []abci.Event{{Type: "transfer", Attributes: []abci.EventAttribute{
			{Key: "key", Value: string(key), Index: true},
			{Key: "note", Value: "unindexed", Index: false},
		}}}}
}

func (f *fakeBackend) seenCommit(b *types.Block, id types.BlockID) *types.Commit {
	c := &types.Commit{Height: b.Header.Height, BlockID: id}
	for i, v := range f.vals.Validators {
		flag := types.BlockIDFlagCommit
		if i == 2 {
			flag = types.BlockIDFlagAbsent
		}
		s := types.CommitSig{Flag: flag}
		if flag != types.BlockIDFlagAbsent {
			s.ValidatorAddress, s.Timestamp, s.Signature = v.Address, b.Header.Time, bytes.Repeat([]byte{byte(i + 1)}, 64)
		}
		c.Signatures = append(c.Signatures, s)
	}
	return c
}

// commitBlock appends a block with txs, indexes it and publishes its events.
func (f *fakeBackend) commitBlock(txs [][]byte) (*types.Block, types.BlockID) {
	f.mu.Lock()
	h := int64(len(f.blocks)) + 1
	b := &types.Block{Header: types.Header{
		Version: types.Version{Block: types.BlockProtocol, App: 1}, ChainID: testChainID, Height: h, Time: genesisTime.Add(time.Duration(h-1) * time.Second),
		ValidatorsHash: f.vals.Hash(), NextValidatorsHash: f.vals.Hash(), AppHash: []byte{0xAB, byte(h)},
		ProposerAddress: f.vals.Validators[0].Address,
	}, Data: types.Data{Txs: txs}}
	if h > 1 {
		b.Header.LastBlockID = f.ids[h-2]
		b.LastCommit = f.seenCommit(f.blocks[h-2], f.ids[h-2])
	}
	b.FillHeader()
	id := types.BlockID{Hash: b.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte{byte(h)})}}
	res := &abci.ResponseFinalizeBlock{AppHash: []byte{0xAB, byte(h)},
		Events: []abci.Event{{Type: "begin", Attributes: []abci.EventAttribute{{Key: "proposer", Value: "val0", Index: true}}}}}
	for _, tx := range txs {
		res.TxResults = append(res.TxResults, txResult(tx))
	}
	f.blocks, f.ids, f.results = append(f.blocks, b), append(f.ids, id), append(f.results, res)
	f.mu.Unlock()
	if err := f.ix.IndexBlock(b, res); err != nil {
		panic(err) // an in-memory database does not fail
	}
	f.bus.PublishBlock(b, id, res)
	return b, id
}

func (f *fakeBackend) maybePanic(name string) {
	f.mu.Lock()
	p := f.panicIn
	f.mu.Unlock()
	if p == name {
		panic("fake backend panic in " + name)
	}
}

func (f *fakeBackend) get(h int64) (*types.Block, types.BlockID, *abci.ResponseFinalizeBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h < 1 || h > int64(len(f.blocks)) {
		return nil, types.BlockID{}, nil, fmt.Errorf("block %d: %w", h, ErrNotFound)
	}
	return f.blocks[h-1], f.ids[h-1], f.results[h-1], nil
}

func (f *fakeBackend) Heights(context.Context) (int64, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.blocks) == 0 {
		return 0, 0, nil
	}
	return 1, int64(len(f.blocks)), nil
}

func (f *fakeBackend) Status(ctx context.Context) (*Status, error) {
	f.maybePanic("status")
	_, latest, _ := f.Heights(ctx)
	b, id, _, err := f.get(latest)
	if err != nil {
		return nil, err
	}
	first, firstID, _, _ := f.get(1)
	v := f.vals.Validators[0]
	return &Status{
		Node: NodeInfo{ID: "1c2b0f9e4a33d7e8b5a6c4f2e1d0c9b8a7f6e5d4", PeerID: "12D3KooWtest", ListenAddr: "/ip4/0.0.0.0/tcp/26656", Network: testChainID,
			Version: "0.1.0", AppVersion: 1, Moniker: "node0", RPCAddress: DefaultListenAddress, TxIndex: true},
		Sync: SyncInfo{LatestBlockHash: id.Hash, LatestAppHash: b.Header.AppHash, LatestBlockHeight: latest,
			LatestBlockTime: b.Header.Time, EarliestBlockHash: firstID.Hash, EarliestAppHash: first.Header.AppHash,
			EarliestBlockHeight: 1, EarliestBlockTime: first.Header.Time},
		Validator: ValidatorInfo{Address: v.Address, PubKey: v.PubKey, VotingPower: v.VotingPower},
	}, nil
}

func (f *fakeBackend) NetInfo(context.Context) (*NetInfo, error) {
	return &NetInfo{Listening: true, Listeners: []string{"/ip4/0.0.0.0/tcp/26656"}, Peers: []Peer{
		{Node: NodeInfo{ID: "00112233445566778899aabbccddeeff00112233", PeerID: "12D3KooWpeer", Network: testChainID, Moniker: "node1"}, IsOutbound: true, RemoteIP: "10.0.0.2"},
	}}, nil
}

func (f *fakeBackend) Genesis(context.Context) (json.RawMessage, error) {
	return json.RawMessage(`{"chain_id":"test-chain","initial_height":"1","app_state":{"x":1}}`), nil
}

func (f *fakeBackend) BlockMeta(_ context.Context, h int64) (*blockstore.BlockMeta, error) {
	b, id, _, err := f.get(h)
	if err != nil {
		return nil, err
	}
	return &blockstore.BlockMeta{BlockID: id, BlockSize: 100 + h, Header: b.Header, NumTxs: int64(len(b.Data.Txs))}, nil
}

func (f *fakeBackend) Block(_ context.Context, h int64) (*types.Block, types.BlockID, error) {
	f.maybePanic("block")
	b, id, _, err := f.get(h)
	return b, id, err
}

func (f *fakeBackend) BlockByHash(ctx context.Context, hash types.Hash) (*types.Block, types.BlockID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, id := range f.ids {
		if id.Hash == hash {
			return f.blocks[i], id, nil
		}
	}
	return nil, types.BlockID{}, fmt.Errorf("block %X: %w", hash[:], ErrNotFound)
}

func (f *fakeBackend) BlockResults(_ context.Context, h int64) (*abci.ResponseFinalizeBlock, error) {
	_, _, r, err := f.get(h)
	return r, err
}

func (f *fakeBackend) Commit(ctx context.Context, h int64) (*types.Commit, bool, error) {
	_, latest, _ := f.Heights(ctx)
	if h < latest {
		next, _, _, err := f.get(h + 1)
		if err != nil {
			return nil, false, err
		}
		return next.LastCommit, true, nil
	}
	b, id, _, err := f.get(h)
	if err != nil {
		return nil, false, err
	}
	return f.seenCommit(b, id), false, nil
}

func (f *fakeBackend) Validators(context.Context, int64) (*types.ValidatorSet, error) {
	return f.vals, nil
}

func (f *fakeBackend) ConsensusParams(context.Context, int64) (*tmtypes.ConsensusParams, error) {
	return &tmtypes.ConsensusParams{
		Block:     &tmtypes.BlockParams{MaxBytes: 22020096, MaxGas: -1},
		Evidence:  &tmtypes.EvidenceParams{MaxAgeNumBlocks: 100000, MaxAgeDuration: 48 * time.Hour, MaxBytes: 1048576},
		Validator: &tmtypes.ValidatorParams{PubKeyTypes: []string{"ed25519"}},
		Version:   &tmtypes.VersionParams{App: 1},
		Abci:      &tmtypes.ABCIParams{},
	}, nil
}

func (f *fakeBackend) ConsensusState(ctx context.Context) (*ConsensusState, error) {
	_, latest, _ := f.Heights(ctx)
	return &ConsensusState{Height: latest + 1, Round: 0, Step: StepPropose, StartTime: genesisTime,
		ProposerAddress: f.vals.Validators[0].Address}, nil
}

func (f *fakeBackend) ABCIInfo(ctx context.Context) (*abci.ResponseInfo, error) {
	_, latest, _ := f.Heights(ctx)
	return &abci.ResponseInfo{Data: "kvstore", Version: "1.0", AppVersion: 1, LastBlockHeight: latest, LastBlockAppHash: []byte{0xAB}}, nil
}

func (f *fakeBackend) ABCIQuery(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	r := &abci.ResponseQuery{Key: req.Data, Value: []byte(req.Path + ":" + string(req.Data)), Height: req.Height, Index: 3}
	if req.Prove {
		r.ProofOps = &crypto.ProofOps{Ops: []crypto.ProofOp{{Type: "ics23:iavl", Key: req.Data, Data: []byte("proof of " + string(req.Data))}}}
	}
	return r, nil
}

func (f *fakeBackend) check(tx []byte) *abci.ResponseCheckTx {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &abci.ResponseCheckTx{Code: f.checkCode, GasWanted: 1}
	if f.checkCode != 0 {
		r.Log, r.Codespace = "rejected", "fake"
	}
	return r
}

func (f *fakeBackend) CheckTx(_ context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return f.check(tx), nil
}

func (f *fakeBackend) BroadcastEvidence(_ context.Context, ev types.Evidence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.evErr != nil {
		return f.evErr
	}
	f.evidence = append(f.evidence, ev)
	return nil
}

func (f *fakeBackend) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	f.hold(ctx)
	r := f.check(tx)
	if r.Code != 0 {
		return r, nil
	}
	f.mu.Lock()
	auto := f.autoBlock
	if !auto {
		f.mempool = append(f.mempool, tx)
	}
	f.mu.Unlock()
	if auto {
		f.commitBlock([][]byte{tx})
	}
	return r, nil
}

func (f *fakeBackend) ReserveMempool(int) (MempoolReservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roomErr != nil {
		return nil, f.roomErr
	}
	return fakeReservation{f}, nil
}

// fakeReservation is room in a fakeBackend's mempool, which has no limit.
type fakeReservation struct{ f *fakeBackend }

func (r fakeReservation) BroadcastTx(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	return r.f.BroadcastTx(ctx, tx)
}

func (fakeReservation) Release() {}

func (f *fakeBackend) UnconfirmedTxs(_ context.Context, limit int) (*UnconfirmedTxs, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &UnconfirmedTxs{Total: len(f.mempool)}
	for _, tx := range f.mempool {
		u.TotalBytes += int64(len(tx))
	}
	u.Txs = f.mempool[:min(limit, len(f.mempool))]
	return u, nil
}

func (f *fakeBackend) Tx(ctx context.Context, hash types.Hash) (*eventbus.TxResult, error) {
	return f.ix.Tx(ctx, hash)
}

func (f *fakeBackend) TxSearch(ctx context.Context, q *query.Query) ([]*eventbus.TxResult, error) {
	return f.ix.TxSearch(ctx, q)
}

func (f *fakeBackend) BlockSearch(ctx context.Context, q *query.Query) ([]int64, error) {
	return f.ix.BlockSearch(ctx, q)
}

func (f *fakeBackend) Subscribe(ctx context.Context, q *query.Query) (<-chan eventbus.Event, error) {
	return f.bus.Subscribe(ctx, q)
}
