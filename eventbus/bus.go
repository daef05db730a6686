package eventbus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// Event types, the values of the "tm.event" attribute.
const (
	EventNewBlock       = "NewBlock"
	EventNewBlockHeader = "NewBlockHeader"
	EventTx             = "Tx"
)

// Composite attribute keys the node sets on every event.
const (
	KeyEvent       = query.EventTypeKey
	KeyTxHash      = "tx.hash"
	KeyTxHeight    = "tx.height"
	KeyBlockHeight = "block.height"
)

// Event is one published event. Attributes maps composite keys
// ("tm.event", "tx.hash", "<event type>.<attribute key>") to their values;
// queries match against it. Which of the payload fields is set depends on
// Type.
type Event struct {
	Type       string
	Attributes map[string][]string

	// NewBlock: the block, its ID and the application's results.
	Block   *types.Block
	BlockID types.BlockID
	Results *abci.ResponseFinalizeBlock
	// NewBlockHeader: the header.
	Header *types.Header
	// Tx: the tx with its result.
	Tx *TxResult

	// Consensus events (consensus.go). NewRoundStep, NewRound,
	// CompleteProposal, Polka, Lock, Relock, Unlock, TimeoutPropose,
	// TimeoutWait, ValidBlock: the position.
	Round *RoundState
	// Vote: the vote counted.
	Vote *types.Vote
	// NewEvidence: the evidence and the height of the block holding it.
	Evidence       types.Evidence
	EvidenceHeight int64
	// ValidatorSetUpdates: the validators whose power changed (0: removed).
	ValidatorUpdates []*types.Validator
}

// ErrTooManySubscribers is returned by Subscribe when the bus is full.
var ErrTooManySubscribers = errors.New("too many subscribers")

// DefaultSubscriberBuffer is how many events a subscriber may fall behind
// before the bus cancels its subscription.
const DefaultSubscriberBuffer = 100

// Bus fans published events out to subscribers whose query matches.
// Publishing never blocks: a subscriber whose buffer is full is dropped and
// its channel closed. The node publishes each committed block with
// PublishBlock; the RPC server subscribes through Backend.Subscribe, which
// the node can forward to the bus.
type Bus struct {
	logger  *slog.Logger
	bufSize int
	maxSubs int

	mu   sync.Mutex
	subs map[*busSub]struct{}
}

type busSub struct {
	q      *query.Query
	ch     chan Event
	closed bool
	stop   func() bool // stops the context.AfterFunc that removes it
}

// New returns a bus allowing at most maxSubs subscriptions at once
// (0 for no limit), each buffering DefaultSubscriberBuffer events.
func New(logger *slog.Logger, maxSubs int) *Bus {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Bus{logger: logger, bufSize: DefaultSubscriberBuffer, maxSubs: maxSubs, subs: make(map[*busSub]struct{})}
}

// Subscribe delivers events matching q until ctx ends or the subscriber
// falls DefaultSubscriberBuffer events behind; then the channel is closed.
func (b *Bus) Subscribe(ctx context.Context, q *query.Query) (<-chan Event, error) {
	if q == nil {
		q = &query.Query{}
	}
	s := &busSub{q: q, ch: make(chan Event, b.bufSize)}
	b.mu.Lock()
	if b.maxSubs > 0 && len(b.subs) >= b.maxSubs {
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: limit %d", ErrTooManySubscribers, b.maxSubs)
	}
	b.subs[s] = struct{}{}
	s.stop = context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.removeLocked(s)
		b.mu.Unlock()
	})
	b.mu.Unlock()
	return s.ch, nil
}

func (b *Bus) removeLocked(s *busSub) {
	if s.closed {
		return
	}
	s.closed = true
	if s.stop != nil {
		s.stop()
	}
	delete(b.subs, s)
	close(s.ch)
}

// NumSubscribers returns the number of live subscriptions.
func (b *Bus) NumSubscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Publish delivers ev to every subscriber whose query matches it.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if !s.q.Matches(ev.Attributes) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			b.logger.Warn("dropping slow event subscriber", "query", s.q.String(), "event", ev.Type)
			b.removeLocked(s)
		}
	}
}

// PublishBlock publishes the events of a committed block: NewBlock,
// NewBlockHeader, then one Tx event per transaction, with the attributes of
// the application's events. results may be nil.
// Events no subscriber can match are not built: a Tx event costs a hash
// and a few maps per tx, for every block.
func (b *Bus) PublishBlock(block *types.Block, id types.BlockID, results *abci.ResponseFinalizeBlock) {
	anyone, txs := b.interest()
	if !anyone {
		return
	}
	for _, ev := range blockEvents(block, id, results, txs) {
		b.Publish(ev)
	}
}

// interest reports whether the bus has subscribers, and whether any of
// them can match Tx events.
func (b *Bus) interest() (anyone, txs bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.q.MayMatchEvent(EventTx) {
			return true, true
		}
		anyone = true
	}
	return anyone, false
}

// BlockEvents builds the events PublishBlock publishes, for a bus or an
// index.
func BlockEvents(block *types.Block, id types.BlockID, results *abci.ResponseFinalizeBlock) []Event {
	return blockEvents(block, id, results, true)
}

// blockEvents is BlockEvents, with the Tx events only if txs is set.
func blockEvents(block *types.Block, id types.BlockID, results *abci.ResponseFinalizeBlock, txs bool) []Event {
	height := strconv.FormatInt(block.Header.Height, 10)
	blockAttrs := map[string][]string{KeyEvent: {EventNewBlock}, KeyBlockHeight: {height}}
	if results != nil {
		addEventAttributes(blockAttrs, results.Events)
	}
	headerAttrs := map[string][]string{KeyEvent: {EventNewBlockHeader}, KeyBlockHeight: {height}}
	evs := []Event{
		{Type: EventNewBlock, Attributes: blockAttrs, Block: block, BlockID: id, Results: results},
		{Type: EventNewBlockHeader, Attributes: headerAttrs, Header: &block.Header},
	}
	if !txs {
		return evs
	}
	for i, tx := range block.Data.Txs {
		tr := &TxResult{Height: block.Header.Height, Index: uint32(i), Tx: tx}
		if results != nil && i < len(results.TxResults) {
			tr.Result = results.TxResults[i]
		}
		evs = append(evs, TxEvent(tr))
	}
	return evs
}

// TxEvent builds the Tx event of a committed tx.
func TxEvent(tr *TxResult) Event {
	h := tr.Hash()
	attrs := map[string][]string{
		KeyEvent:    {EventTx},
		KeyTxHash:   {strings.ToUpper(hex.EncodeToString(h[:]))},
		KeyTxHeight: {strconv.FormatInt(tr.Height, 10)},
	}
	if tr.Result != nil {
		addEventAttributes(attrs, tr.Result.Events)
	}
	return Event{Type: EventTx, Attributes: attrs, Tx: tr}
}

func addEventAttributes(attrs map[string][]string, evs []abci.Event) {
	for _, e := range evs {
		if e.Type == "" {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == "" {
				continue
			}
			k := e.Type + "." + a.Key
			attrs[k] = append(attrs[k], a.Value)
		}
	}
}

// TxResult is a committed transaction with its place and result.
type TxResult struct {
	Height int64
	Index  uint32
	Tx     []byte
	Result *abci.ExecTxResult
}

// Hash is the tx's SHA-256, its identity in the RPC.
func (r *TxResult) Hash() types.Hash { return sha256.Sum256(r.Tx) }
