package kvstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/internal/pebbleopts"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// Response codes. 0 is success in ABCI; anything else rejects the tx.
const (
	CodeOK               uint32 = 0
	CodeBadTx            uint32 = 1 // the tx does not parse
	CodeUnknownValidator uint32 = 2 // power 0 for a validator not in the set
	CodeDuplicateUpdate  uint32 = 3 // a second update of one validator in a block
)

// AppVersion is the application protocol version reported by Info.
const AppVersion = 1

// Storage layout in Pebble.
var (
	dataPrefix      = []byte("d/") // + key: value
	validatorPrefix = []byte("v/") // + ed25519 public key: power, 8 bytes big-endian
	stateKey        = []byte("m/state")
)

var (
	// ErrCorruptState is returned by Open when the stored state cannot be read.
	ErrCorruptState = errors.New("kvstore: corrupt state")
	// ErrUnsupportedKey is returned by InitChain for a genesis validator
	// whose key is not ed25519.
	ErrUnsupportedKey = errors.New("kvstore: unsupported validator key type")
)

// App is the key/value store application. It is safe for concurrent use.
// Methods it does not define come from app.BaseApplication.
type App struct {
	app.BaseApplication
	db *pebble.DB

	mu      sync.Mutex
	height  int64  // last committed height
	appHash []byte // last committed app hash
	// Writes since the last Commit (by InitChain and FinalizeBlock), and the
	// height and app hash they lead to.
	work       *pebble.Batch
	workHeight int64
	workHash   []byte
}

var _ app.Application = (*App)(nil)

// Open opens (or creates) the store in directory dir.
func Open(dir string) (*App, error) {
	return OpenWithCache(dir, nil)
}

// OpenWithCache is Open with cache as the database's block cache, which
// it may share with other databases (nil: one of its own).
func OpenWithCache(dir string, cache *pebble.Cache) (*App, error) {
	return open(dir, vfs.Default, cache)
}

// OpenInMemory opens an empty store kept in memory, for tests.
func OpenInMemory() (*App, error) {
	return open("", vfs.NewMem(), nil)
}

func open(dir string, fs vfs.FS, cache *pebble.Cache) (*App, error) {
	db, err := pebble.Open(dir, pebbleopts.Options(pebbleopts.Config{FS: fs, Cache: cache}))
	if err != nil {
		return nil, fmt.Errorf("kvstore: open %q: %w", dir, err)
	}
	a := &App{db: db}
	state, closer, err := db.Get(stateKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound): // new store
		return a, nil
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("kvstore: read state: %w", err)
	}
	defer closer.Close()
	if len(state) != 8+sha256.Size {
		db.Close()
		return nil, fmt.Errorf("%w: state record is %d bytes", ErrCorruptState, len(state))
	}
	a.height = int64(binary.BigEndian.Uint64(state))
	a.appHash = append([]byte(nil), state[8:]...)
	return a, nil
}

// Close closes the store, dropping uncommitted writes.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropWork()
	return a.db.Close()
}

// dropWork discards the writes not yet committed. The caller holds a.mu.
func (a *App) dropWork() {
	if a.work != nil {
		a.work.Close()
		a.work = nil
	}
}

// Info reports the last committed height and app hash: the node replays
// the blocks after it.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             "kvstore",
		Version:          "1",
		AppVersion:       AppVersion,
		LastBlockHeight:  a.height,
		LastBlockAppHash: a.appHash,
	}, nil
}

// Query returns the committed value of the key in req.Data, or, when Data is
// empty, of the key named by the path ("/name").
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	key := req.Data
	if len(key) == 0 {
		key = []byte(strings.TrimPrefix(req.Path, "/"))
	}
	a.mu.Lock()
	height := a.height
	a.mu.Unlock()
	res := &abci.ResponseQuery{Key: key, Height: height}
	value, closer, err := a.db.Get(slices.Concat(dataPrefix, key))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		res.Log = "does not exist"
	case err != nil:
		return nil, fmt.Errorf("kvstore: query: %w", err)
	default:
		res.Log = "exists"
		res.Value = append([]byte(nil), value...)
		closer.Close()
	}
	return res, nil
}

// CheckTx admits only transactions that parse. It reads no state, so it
// needs no lock.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if _, err := ParseTx(req.Tx); err != nil {
		return &abci.ResponseCheckTx{Code: CodeBadTx, Log: err.Error()}, nil
	}
	return &abci.ResponseCheckTx{Code: CodeOK, GasWanted: 1}, nil
}

// InitChain records the genesis validators. They are persisted with the
// first block; if the node stops before then, it calls InitChain again.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropWork() // a node that lost an earlier InitChain calls it again
	w := a.startWrites(req.InitialHeight - 1)
	for _, v := range req.Validators {
		if err := w.setValidator(v); err != nil {
			return nil, err
		}
	}
	a.workHash = w.sum()
	return &abci.ResponseInitChain{AppHash: a.workHash}, nil
}

// PrepareProposal drops transactions that do not parse, then leaves the
// size limit to BaseApplication.
func (a *App) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	valid := make([][]byte, 0, len(req.Txs))
	for _, tx := range req.Txs {
		if _, err := ParseTx(tx); err == nil {
			valid = append(valid, tx)
		}
	}
	trimmed := *req
	trimmed.Txs = valid
	return a.BaseApplication.PrepareProposal(ctx, &trimmed)
}

// ProcessProposal rejects a block holding a transaction that does not
// parse: an honest proposer would not have included it.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	for _, tx := range req.Txs {
		if _, err := ParseTx(tx); err != nil {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the block's transactions in order, then removes
// each validator the block's evidence names (see punish). Their writes
// stay in a batch until Commit; the returned app hash already covers them.
// A height executed again before its Commit (the node lost the outcome:
// its connection or process failed) starts over from the committed state.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.work != nil && a.workHeight >= req.Height {
		a.dropWork()
	}
	w := a.startWrites(req.Height)
	res := &abci.ResponseFinalizeBlock{TxResults: make([]*abci.ExecTxResult, len(req.Txs))}
	updated := make(map[string]bool) // validators updated in this block
	for i, raw := range req.Txs {
		result, err := a.execTx(w, raw, updated)
		if err != nil {
			return nil, err
		}
		if v := result.validator; v != nil {
			res.ValidatorUpdates = append(res.ValidatorUpdates, *v)
		}
		res.TxResults[i] = result.ExecTxResult
	}
	for _, m := range req.Misbehavior {
		v, ev, err := punish(w, m, updated)
		if err != nil {
			return nil, err
		}
		if v != nil {
			res.ValidatorUpdates = append(res.ValidatorUpdates, *v)
		}
		res.Events = append(res.Events, ev)
	}
	a.workHash = w.sum()
	res.AppHash = a.workHash
	return res, nil
}

// txResult is the outcome of one transaction, and the validator update it
// makes, if any.
type txResult struct {
	*abci.ExecTxResult
	validator *abci.ValidatorUpdate
}

// execTx executes one transaction. A transaction that fails is reported in
// its result; the error is for a storage failure only.
func (a *App) execTx(w *writes, raw []byte, updated map[string]bool) (txResult, error) {
	tx, err := ParseTx(raw)
	if err != nil {
		return txResult{ExecTxResult: &abci.ExecTxResult{Code: CodeBadTx, Log: err.Error()}}, nil
	}
	if tx.Validator != nil {
		return a.execValidatorTx(w, tx.Validator, updated)
	}
	if err := w.set(slices.Concat(dataPrefix, tx.Key), tx.Value); err != nil {
		return txResult{}, err
	}
	// The event names the key only, as CometBFT's kvstore does: the value is
	// in the block already, and a copy in every result and index entry
	// would multiply the disk each tx costs.
	return txResult{ExecTxResult: &abci.ExecTxResult{Code: CodeOK, Events: []abci.Event{{
		Type:       "app",
		Attributes: []abci.EventAttribute{{Key: "key", Value: string(tx.Key), Index: true}},
	}}}}, nil
}

// execValidatorTx applies one validator update. A validator may be updated
// once per block, and only a validator in the set can be removed: the node
// would refuse anything else.
func (a *App) execValidatorTx(w *writes, v *abci.ValidatorUpdate, updated map[string]bool) (txResult, error) {
	pubKey := v.PubKey.GetEd25519()
	if updated[string(pubKey)] {
		return txResult{ExecTxResult: &abci.ExecTxResult{Code: CodeDuplicateUpdate, Log: "validator already updated in this block"}}, nil
	}
	if v.Power == 0 {
		exists, err := w.has(slices.Concat(validatorPrefix, pubKey))
		if err != nil {
			return txResult{}, err
		}
		if !exists {
			return txResult{ExecTxResult: &abci.ExecTxResult{Code: CodeUnknownValidator, Log: "cannot remove a validator that is not in the set"}}, nil
		}
	}
	if err := w.setValidator(*v); err != nil {
		return txResult{}, err
	}
	updated[string(pubKey)] = true
	return txResult{validator: v, ExecTxResult: &abci.ExecTxResult{Code: CodeOK, Events: []abci.Event{{
		Type: "validator",
		Attributes: []abci.EventAttribute{
			{Key: "pubkey", Value: base64.StdEncoding.EncodeToString(pubKey), Index: true},
			{Key: "power", Value: strconv.FormatInt(v.Power, 10), Index: true},
		},
	}}}}, nil
}

// Commit persists the writes of InitChain and FinalizeBlock, with the new
// height and app hash, in one batch, not synced (see the package
// documentation).
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.work == nil {
		return nil, errors.New("kvstore: commit without a finalized block")
	}
	state := binary.BigEndian.AppendUint64(nil, uint64(a.workHeight))
	state = append(state, a.workHash...)
	if err := a.work.Set(stateKey, state, nil); err != nil {
		return nil, err
	}
	if err := a.work.Commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("kvstore: commit: %w", err)
	}
	a.work.Close()
	a.work = nil
	a.height, a.appHash = a.workHeight, a.workHash
	return &abci.ResponseCommit{}, nil
}

// startWrites begins the writes of a block (or of genesis) at height,
// continuing any not yet committed. The caller holds a.mu.
func (a *App) startWrites(height int64) *writes {
	if a.work == nil {
		a.work = a.db.NewIndexedBatch()
		a.workHash = a.appHash
	}
	a.workHeight = height
	h := sha256.New()
	h.Write(a.workHash)
	h.Write(binary.AppendVarint(nil, height))
	return &writes{batch: a.work, hash: h}
}

// writes applies a block's writes to the batch and folds each into the app
// hash, so the hash covers exactly what is stored.
type writes struct {
	batch *pebble.Batch
	hash  hash.Hash
}

func (w *writes) set(key, value []byte) error {
	w.hash.Write([]byte{'s'})
	w.hash.Write(binary.AppendUvarint(nil, uint64(len(key))))
	w.hash.Write(key)
	w.hash.Write(binary.AppendUvarint(nil, uint64(len(value))))
	w.hash.Write(value)
	return w.batch.Set(key, value, nil)
}

func (w *writes) delete(key []byte) error {
	w.hash.Write([]byte{'d'})
	w.hash.Write(binary.AppendUvarint(nil, uint64(len(key))))
	w.hash.Write(key)
	return w.batch.Delete(key, nil)
}

// has reports whether key is set, counting the batch's own writes.
func (w *writes) has(key []byte) (bool, error) {
	_, closer, err := w.batch.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

// setValidator stores a validator's power, or removes it at power 0.
func (w *writes) setValidator(v abci.ValidatorUpdate) error {
	pubKey := v.PubKey.GetEd25519()
	if pubKey == nil {
		return fmt.Errorf("%w: %T", ErrUnsupportedKey, v.PubKey.Sum)
	}
	key := slices.Concat(validatorPrefix, pubKey)
	if v.Power == 0 {
		return w.delete(key)
	}
	return w.set(key, binary.BigEndian.AppendUint64(nil, uint64(v.Power)))
}

func (w *writes) sum() []byte { return w.hash.Sum(nil) }
