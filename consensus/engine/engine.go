package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/bftnode/bftnode/blockstore"
	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/types"
)

// maxFuture bounds the messages kept for a height the engine has not
// started yet.
const maxFuture = 4096

type timerKind uint8

const (
	timerTimeout     timerKind = iota + 1 // a core timeout
	timerStartHeight                      // the commit delay is over
	timerRebroadcast                      // re-send own messages, re-announce status
	timerEmptyBlock                       // stop waiting for txs and propose
)

// Timer is a timer the engine set. Whoever runs the engine hands it back
// with Fire once it is due (see Timers); the engine drops a timer that has
// gone stale meanwhile.
type Timer struct {
	kind   timerKind
	height int64
	round  int32
	step   consensus.Step
}

// Engine runs consensus for one node. Create it with New, then either run
// it with Run, which owns one goroutine, or step it yourself: Start, then
// Deliver, Fire and TxsAvailable, one call at a time (the simulator does,
// on its virtual clock). It is not safe for concurrent use otherwise.
type Engine struct {
	cfg   Config
	d     Deps
	log   *slog.Logger
	self  types.Address
	chain string

	core  Core              // *consensus.State, or Deps.WrapCore's decoration of it
	state *blockstore.State // after the last committed block

	started    bool // the core runs the height after state's last block
	blocks     map[types.BlockID]*types.Block
	sent       []Msg               // own messages of this height, for rebroadcast
	owed       *types.Vote         // an own prevote of this height the signer holds for an unknown block (see signedBefore)
	seen       map[string]struct{} // signatures of messages already handled this height
	future     []Inbound
	feedback   []consensus.Event
	draining   bool
	replaying  bool
	pending    []consensus.Action // actions met in WAL replay, not yet answered by the log
	waitValue  *consensus.RequestValue
	lastStatus Status

	timers Timers
	ran    atomic.Bool
	// position is the last announced status, for Position.
	position atomic.Pointer[Status]
	evidence evidenceList
	trace    heightTrace // where the current height's time goes (debug log)
}

// New checks cfg and deps and returns an engine ready to Run.
func New(cfg Config, deps Deps) (*Engine, error) {
	g := cfg.Genesis
	switch {
	case g.ChainID == "":
		return nil, fmt.Errorf("%w: empty chain ID", ErrConfig)
	case g.Validators == nil || g.Validators.Size() == 0:
		return nil, fmt.Errorf("%w: no genesis validators", ErrConfig)
	case deps.Transport == nil || deps.Store == nil || deps.App == nil || deps.Mempool == nil || deps.Signer == nil || deps.WAL == nil:
		return nil, fmt.Errorf("%w: missing dependency", ErrConfig)
	case cfg.Timeouts.Propose <= 0 || cfg.Timeouts.Prevote <= 0 || cfg.Timeouts.Precommit <= 0:
		return nil, fmt.Errorf("%w: timeouts must be positive", ErrConfig)
	}
	if cfg.Genesis.InitialHeight <= 0 {
		cfg.Genesis.InitialHeight = 1
	}
	if cfg.RebroadcastInterval <= 0 {
		cfg.RebroadcastInterval = cfg.Timeouts.Propose
	}
	if g.ConsensusParams.MaxBlockBytes == 0 {
		cfg.Genesis.ConsensusParams.MaxBlockBytes = defaultMaxBlockBytes
	}
	if deps.Clock == nil {
		deps.Clock = RealClock{}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	self := deps.Signer.Address()
	var core Core = consensus.New(self, cfg.Timeouts)
	if deps.WrapCore != nil {
		core = deps.WrapCore(core.(*consensus.State))
	}
	return &Engine{
		cfg: cfg, d: deps, log: logger, self: self, chain: g.ChainID,
		core:   core,
		timers: deps.Timers,
	}, nil
}

// Run shakes hands with the application, recovers from the WAL and runs
// consensus until ctx ends (then it returns nil) or a storage or
// application failure stops it (then it returns the error). It is Start,
// then a loop over the transport's inbound messages, the timers (run on
// Deps.Clock) and the mempool's "txs available" signal, each handed to the
// engine in turn. Run may be called once, and not after Start.
func (e *Engine) Run(ctx context.Context) error {
	fired := make(chan Timer, 64)
	done := make(chan struct{})
	defer close(done)
	e.timers = clockTimers{clock: e.d.Clock, fired: fired, done: done}
	if err := e.Start(ctx); err != nil {
		return err
	}
	txsAvailable := e.d.Mempool.TxsAvailable()
	inbound := e.d.Transport.Inbound()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case in, ok := <-inbound:
			if !ok {
				return ErrTransportClosed
			}
			err = e.Deliver(ctx, in)
		case t := <-fired:
			err = e.Fire(ctx, t)
		case _, ok := <-txsAvailable:
			if !ok {
				txsAvailable = nil // a closed channel would spin the loop
				continue
			}
			err = e.TxsAvailable(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// Start shakes hands with the application, recovers from the WAL and
// starts (or resumes) the height being decided. A caller stepping the
// engine itself calls it once, first, with Deps.Timers set; Run calls it.
func (e *Engine) Start(ctx context.Context) error {
	if e.ran.Swap(true) {
		return fmt.Errorf("%w: the engine was started twice", ErrConfig)
	}
	if e.timers == nil {
		return fmt.Errorf("%w: stepping the engine needs Deps.Timers", ErrConfig)
	}
	if err := e.handshake(ctx); err != nil {
		return err
	}
	if err := e.recover(ctx); err != nil {
		return err
	}
	e.rebroadcast()
	e.announce()
	e.after(e.cfg.RebroadcastInterval, Timer{kind: timerRebroadcast})
	return nil
}

// Deliver hands the engine a peer's message. A message that fails
// validation is reported to the transport; only storage and application
// failures are returned, and the engine must not be stepped after one.
func (e *Engine) Deliver(ctx context.Context, in Inbound) error {
	return e.settle(ctx, e.onInbound(ctx, in))
}

// Fire hands the engine a timer it set, now due.
func (e *Engine) Fire(ctx context.Context, t Timer) error {
	return e.settle(ctx, e.onTimer(ctx, t))
}

// TxsAvailable tells the engine that the mempool has txs: a proposer
// waiting for some builds its block.
func (e *Engine) TxsAvailable(ctx context.Context) error {
	return e.settle(ctx, e.proposeWaiting(ctx))
}

// settle finishes handling one input whose handling returned err: the
// engine's own queued events are stepped and the position announced.
func (e *Engine) settle(ctx context.Context, err error) error {
	if err == nil {
		err = e.drain(ctx)
	}
	if err != nil {
		return err
	}
	e.announce()
	return nil
}

// Height is the height being decided: the last committed one plus one.
func (e *Engine) height() int64 { return e.state.LastBlockHeight + 1 }

// after asks for t to be handed back (Fire) after d.
func (e *Engine) after(d time.Duration, t Timer) { e.timers.Schedule(d, t) }

// announce advertises the current position when it changed.
func (e *Engine) announce() {
	st := Status{Height: e.height(), Validators: e.state.Validators.Size(), NextValidators: e.state.NextValidators.Size()}
	if e.started {
		rs := e.core.RoundState()
		st.Round, st.Step = rs.Round, uint8(rs.Step)
	}
	if st != e.lastStatus {
		e.lastStatus = st
		e.position.Store(&st)
		e.d.Transport.SetStatus(st)
	}
}

// Position is where consensus last was: the height being decided, its
// round and step. It is safe to call from any goroutine (RPC, metrics);
// before Run has started a height it is the zero Status.
func (e *Engine) Position() Status {
	if p := e.position.Load(); p != nil {
		return *p
	}
	return Status{}
}

// rebroadcast re-sends this node's own proposal and votes of the height.
func (e *Engine) rebroadcast() {
	for _, m := range e.sent {
		e.d.Transport.Broadcast(m)
	}
}

func (e *Engine) onTimer(ctx context.Context, t Timer) error {
	switch t.kind {
	case timerTimeout:
		rs := e.core.RoundState()
		if !e.started || t.height != rs.Height || t.round != rs.Round || rs.Decided {
			return nil // stale
		}
		ev := consensus.TimeoutFired{Height: t.height, Round: t.round, Step: t.step, Now: e.d.Clock.Now()}
		if err := e.d.WAL.Write(kindTimeout, encodeTimeout(ev)); err != nil {
			return fmt.Errorf("%w: %w", ErrStore, err)
		}
		return e.stepOwn(ctx, ev)
	case timerStartHeight:
		if !e.started && t.height == e.height() {
			return e.startHeight(ctx)
		}
	case timerRebroadcast:
		e.rebroadcast()
		e.lastStatus = Status{} // re-announce, for peers that came back
		e.after(e.cfg.RebroadcastInterval, Timer{kind: timerRebroadcast})
	case timerEmptyBlock:
		if w := e.waitValue; w != nil && w.Height == t.height && w.Round == t.round {
			e.waitValue = nil
			return e.buildValue(ctx, *w)
		}
	}
	return nil
}

// startHeight starts the core on the height after the last committed block
// and hands it the messages that arrived early.
func (e *Engine) startHeight(ctx context.Context) error {
	h := e.height()
	now := e.d.Clock.Now()
	if err := e.d.WAL.Write(kindStartHeight, encodeStartHeight(h, now)); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	e.resetHeight()
	e.trace = heightTrace{prevDone: e.trace.done, start: time.Now()}
	e.started = true
	if err := e.stepOwn(ctx, consensus.StartHeight{Height: h, Validators: e.state.Validators, Now: now}); err != nil {
		return err
	}
	if err := e.drain(ctx); err != nil {
		return err
	}
	early := e.future
	e.future = nil
	for _, in := range early {
		if err := e.onInbound(ctx, in); err != nil {
			return err
		}
		if err := e.drain(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) resetHeight() {
	e.blocks = map[types.BlockID]*types.Block{}
	e.sent = nil
	e.owed = nil
	e.seen = map[string]struct{}{}
	e.waitValue = nil
	e.feedback = nil
}

// stepOwn steps the core with an event the engine produced itself; the
// core refusing it is a bug, logged, not a reason to stop.
func (e *Engine) stepOwn(ctx context.Context, ev consensus.Event) error {
	err := e.step(ctx, ev)
	if errors.Is(err, ErrBadMessage) {
		e.log.Error("core refused an own event", "event", fmt.Sprintf("%T", ev), "err", err)
		return nil
	}
	return err
}

// step feeds one event to the core and carries out its actions. A refused
// event gives an error wrapping ErrBadMessage.
func (e *Engine) step(ctx context.Context, ev consensus.Event) error {
	acts, err := e.core.Step(ev)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if e.cfg.OnEvent != nil && !e.replaying {
		e.cfg.OnEvent(e.core.RoundState())
	}
	return e.execute(ctx, acts)
}

// drain steps the events the engine queued for itself (own signed
// messages, the application's verdicts, fresh values), in order.
func (e *Engine) drain(ctx context.Context) error {
	if e.draining {
		return nil
	}
	e.draining = true
	defer func() { e.draining = false }()
	for len(e.feedback) > 0 {
		ev := e.feedback[0]
		e.feedback = e.feedback[1:]
		if err := e.stepOwn(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// log attributes for the current position.
func (e *Engine) pos() []any {
	rs := e.core.RoundState()
	return []any{"height", rs.Height, "round", rs.Round, "step", rs.Step}
}
