package abcisocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// ErrAppDead is wrapped by every error of a connection that closed, answered
// garbage or did not answer in time. The connection is unusable afterwards.
var ErrAppDead = errors.New("abci application unreachable")

// ErrAppException is wrapped by the error of a call the application answered
// with a ResponseException. The connection stays usable.
var ErrAppException = errors.New("abci application exception")

var flushRequest = &abci.Request{Value: &abci.Request_Flush{Flush: &abci.RequestFlush{}}}

// conn is one client connection. Calls may come from several goroutines: each
// writes its request followed by a Flush under mu, and a reader goroutine
// hands responses, which come in request order, to the waiting calls. Calls
// are thus pipelined on the connection.
type conn struct {
	nc      net.Conn
	name    string // role and address, for errors
	timeout time.Duration
	maxSize int

	mu      sync.Mutex // guards w, pending and the order of writes
	w       *bufio.Writer
	pending []chan *abci.Response // one per request awaiting its response

	dead    chan struct{} // closed once the connection is dead
	failErr error         // why; written once, before dead is closed
	once    sync.Once
}

func newConn(nc net.Conn, name string, timeout time.Duration, maxSize int) *conn {
	c := &conn{
		nc:      nc,
		name:    name,
		timeout: timeout,
		maxSize: maxSize,
		w:       bufio.NewWriter(nc),
		dead:    make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// fail marks the connection dead with cause (the first cause wins), closes
// it and returns the error every call now gets.
func (c *conn) fail(cause error) error {
	c.once.Do(func() {
		c.failErr = fmt.Errorf("%w: %s: %w", ErrAppDead, c.name, cause)
		close(c.dead)
		c.nc.Close()
	})
	return c.failErr
}

// close shuts the connection down; calls in flight fail with ErrAppDead.
func (c *conn) close() {
	c.fail(net.ErrClosed)
}

// readLoop delivers each response to the oldest pending call, skipping the
// responses to the client's Flush requests.
func (c *conn) readLoop() {
	r := bufio.NewReader(c.nc)
	for {
		res := new(abci.Response)
		if err := ReadMessage(r, res, c.maxSize); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("connection closed by the application")
			}
			c.fail(err)
			return
		}
		if _, ok := res.Value.(*abci.Response_Flush); ok {
			continue
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			c.fail(fmt.Errorf("unrequested %s response", kind(res.Value)))
			return
		}
		done := c.pending[0]
		c.pending = c.pending[1:]
		c.mu.Unlock()
		done <- res // buffered: never blocks
	}
}

// roundTrip sends req and waits for its response. It fails the connection if
// the response does not come within the request timeout or ctx's deadline,
// but a cancelled ctx only abandons the call.
func (c *conn) roundTrip(ctx context.Context, req *abci.Request) (*abci.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("abci %s: %w", c.name, err)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	done := make(chan *abci.Response, 1)
	if err := c.send(ctx, req, done); err != nil {
		return nil, err
	}
	select {
	case res := <-done:
		return res, nil
	case <-c.dead:
		return nil, c.failErr
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, c.fail(fmt.Errorf("no response to %s: %w", kind(req.Value), ctx.Err()))
		}
		return nil, fmt.Errorf("abci %s: %w", c.name, ctx.Err())
	}
}

// send queues done for req's response and writes req and a Flush.
func (c *conn) send(ctx context.Context, req *abci.Request, done chan *abci.Response) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.dead:
		return c.failErr
	default:
	}
	deadline, _ := ctx.Deadline() // zero: no write deadline
	c.nc.SetWriteDeadline(deadline)
	c.pending = append(c.pending, done)
	err := WriteMessage(c.w, req)
	if err == nil {
		err = WriteMessage(c.w, flushRequest)
	}
	if err == nil {
		err = c.w.Flush()
	}
	if err != nil {
		return c.fail(fmt.Errorf("write: %w", err))
	}
	return nil
}

// call sends req on c and returns the response get extracts from the answer.
// An answer of another type than the request's is garbage: it kills c.
func call[T any](ctx context.Context, c *conn, req *abci.Request, get func(*abci.Response) *T) (*T, error) {
	res, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if ex := res.GetException(); ex != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrAppException, c.name, ex.Error)
	}
	v := get(res)
	if v == nil {
		return nil, c.fail(fmt.Errorf("%s response to %s request", kind(res.Value), kind(req.Value)))
	}
	return v, nil
}

// kind names the value of a Request or Response for errors: "Info" for an
// *abci.Request_Info.
func kind(value any) string {
	name := fmt.Sprintf("%T", value)
	if _, after, found := strings.Cut(name, "_"); found {
		return after
	}
	return name
}
