package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bftnode/bftnode/rpc"
)

// Options configure Run.
type Options struct {
	// Endpoints are the nodes' RPC addresses (http://host:port); txs go to
	// them in turn, blocks are watched on the first.
	Endpoints []string
	// Rate is the target submission rate in tx/s over all connections; 0
	// submits flat out.
	Rate float64
	// Duration is how long to submit.
	Duration time.Duration
	// TxSize is the size of each tx in bytes.
	TxSize int
	// Connections is the number of concurrent submitters: websocket
	// connections, spread over the endpoints in turn, each with up to 64
	// requests awaiting their response (with HTTP, one each).
	Connections int
	// Sync uses broadcast_tx_sync (CheckTx result known) instead of
	// broadcast_tx_async.
	Sync bool
	// HTTP submits each tx with its own HTTP POST instead of pipelining
	// them over one websocket per connection.
	HTTP bool
	// Poll watches blocks by polling `status` and `block` instead of a
	// websocket subscription.
	Poll bool
	// MaxPending, if positive, holds submissions back while that many txs
	// are pending (submitted, neither committed nor rejected). Keep it
	// below the nodes' mempool size: broadcast_tx_async answers before
	// CheckTx, so txs a full mempool drops show up only as lost.
	MaxPending int64
	// Drain is how long to wait after the load for pending txs to commit.
	Drain time.Duration
	// NoLoad submits nothing: only heights are measured.
	NoLoad bool
	// RunID keeps this run's tx keys apart from other runs'.
	RunID string
	// Progress receives one line per second; nil for none.
	Progress io.Writer
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (o *Options) check() error {
	switch {
	case len(o.Endpoints) == 0:
		return fmt.Errorf("%w: no RPC endpoints", ErrBadOptions)
	case o.Rate < 0:
		return fmt.Errorf("%w: rate %v is negative", ErrBadOptions, o.Rate)
	case o.Duration <= 0:
		return fmt.Errorf("%w: duration %v must be positive", ErrBadOptions, o.Duration)
	case o.Connections < 1:
		return fmt.Errorf("%w: connections %d must be at least 1", ErrBadOptions, o.Connections)
	case o.MaxPending < 0:
		return fmt.Errorf("%w: max pending %d is negative", ErrBadOptions, o.MaxPending)
	case o.Drain < 0:
		return fmt.Errorf("%w: drain %v is negative", ErrBadOptions, o.Drain)
	}
	return nil
}

// Run submits txs to the endpoints for the duration and returns what got
// committed. If ctx ends early it stops the load and returns the summary
// so far together with ctx's error.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	gen, err := NewTxGen(o.RunID, o.TxSize)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Connections * len(o.Endpoints), MaxIdleConnsPerHost: o.Connections,
		IdleConnTimeout: 90 * time.Second,
	}}
	defer hc.CloseIdleConnections()
	clients := make([]*rpc.Client, len(o.Endpoints))
	wsURLs := make([]string, len(o.Endpoints)) // the endpoints' websockets
	for i, e := range o.Endpoints {
		if clients[i], err = rpc.NewClient(e, hc); err != nil {
			return nil, fmt.Errorf("%w: endpoint %q: %v", ErrBadOptions, e, err)
		}
		if wsURLs[i], err = websocketURL(e); err != nil {
			return nil, err
		}
	}
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	start, err := latestHeight(ctx, clients[0])
	if err != nil {
		return nil, err
	}
	var watchErr error
	var blocks <-chan Block
	if o.Poll {
		blocks = pollBlocks(watchCtx, clients[0], start, 20*time.Millisecond, o.Now, &watchErr)
	} else if blocks, err = subscribeBlocks(watchCtx, o.Endpoints[0], o.Now, &watchErr); err != nil {
		return nil, err
	}
	var conns []*websocket.Conn
	if !o.HTTP && !o.NoLoad {
		// Connect before the load starts, so that it does not count.
		if conns, err = dialAll(ctx, wsURLs, o.Connections); err != nil {
			return nil, err
		}
	}
	col := NewCollector(gen)
	r := &runner{o: o, gen: gen, col: col, clients: clients, conns: conns, blocks: blocks, next: start + 1, watchErr: &watchErr}
	return r.run(ctx)
}

type runner struct {
	o        Options
	gen      *TxGen
	col      *Collector
	clients  []*rpc.Client
	conns    []*websocket.Conn // for submissions, unless HTTP or NoLoad
	blocks   <-chan Block
	next     int64 // the next height expected
	watchErr *error
}

func (r *runner) run(ctx context.Context) (*Summary, error) {
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	t0 := r.o.Now()
	r.col.StartLoad(t0, r.next-1)
	var wg sync.WaitGroup
	if !r.o.NoLoad {
		for i := range r.o.Connections {
			if r.o.HTTP {
				wg.Go(func() { r.submitHTTP(loadCtx, t0) })
			} else {
				wg.Go(func() { r.submitWS(ctx, loadCtx, t0, r.conns[i]) })
			}
		}
	}
	loadDone := time.After(r.o.Duration)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var drainDone <-chan time.Time
	var last Progress
	var runErr error
	for {
		select {
		case b, ok := <-r.blocks:
			if !ok {
				if *r.watchErr == nil {
					*r.watchErr = errors.New("bench: block stream ended")
				}
				stopLoad()
				wg.Wait()
				if loadDone != nil {
					r.endLoad()
				}
				return r.summary(), *r.watchErr
			}
			if err := r.addBlock(ctx, b); err != nil {
				runErr = err
			}
			if drainDone != nil && r.col.Pending() == 0 {
				return r.summary(), runErr
			}
		case <-tick.C:
			p := r.col.Progress()
			r.progress(t0, p, last)
			last = p
			if drainDone != nil && r.col.Pending() == 0 {
				return r.summary(), runErr
			}
		case <-loadDone:
			loadDone = nil
			stopLoad()
			r.endLoad()
			wg.Wait() // for the answers to requests in flight
			drainDone = time.After(r.o.Drain)
			if r.o.NoLoad || r.col.Pending() == 0 {
				return r.summary(), runErr
			}
		case <-drainDone:
			return r.summary(), runErr
		case <-ctx.Done():
			stopLoad()
			wg.Wait()
			if loadDone != nil {
				r.endLoad()
			}
			return r.summary(), ctx.Err()
		}
	}
}

func (r *runner) endLoad() { r.col.EndLoad(r.o.Now()) }

func (r *runner) summary() *Summary {
	s := r.col.Summary()
	s.Rate, s.NoLoad = r.o.Rate, r.o.NoLoad
	s.Mode = "async"
	if r.o.Sync {
		s.Mode = "sync"
	}
	return &s
}

// addBlock records b, first fetching any heights the stream skipped.
func (r *runner) addBlock(ctx context.Context, b Block) error {
	var err error
	for h := r.next; h < b.Height && err == nil; h++ {
		var got Block
		if got, err = fetchBlock(ctx, r.clients[0], h); err == nil {
			got.Received = b.Received
			r.col.AddBlock(got)
		}
	}
	r.col.AddBlock(b)
	r.next = max(r.next, b.Height+1)
	return err
}

func (r *runner) progress(t0 time.Time, p, last Progress) {
	if r.o.Progress == nil {
		return
	}
	_, _ = fmt.Fprintf(r.o.Progress, "%4.0fs  height %d (+%d)  sent %d (+%d)  committed %d (+%d tx/s)  rejected %d  refused %d  errors %d  pending %d\n",
		r.o.Now().Sub(t0).Seconds(), p.Height, p.Height-last.Height, p.Sent, p.Sent-last.Sent,
		p.Committed, p.Committed-last.Committed, p.Rejected, p.Refused, p.Errors, p.Sent-p.Committed-p.Rejected-p.Refused-p.Errors)
}
