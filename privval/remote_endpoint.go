package privval

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	privvalpb "github.com/bftnode/bftnode/proto/tendermint/privval"
)

// maxSignerConns bounds the signer connections kept at once; a new one
// beyond it closes the oldest.
const maxSignerConns = 4

// admitTimeout bounds the admission of a new connection: the
// SecretConnection handshake (tcp://) and the public key request. It is
// not on consensus's path.
const admitTimeout = 5 * time.Second

// endpoint is the node's end of the remote signer protocol: it listens,
// admits each signer that dials in once it has told its public key (the
// same key as the first signer's), keeps every admitted connection alive
// with pings, and sends requests over the newest one. A connection that
// fails, times out or carries garbage is closed and dropped; the signer
// dials again and is admitted again.
type endpoint struct {
	ln      net.Listener
	secret  ed25519.PrivateKey // over tcp://, the key of the SecretConnection; nil over unix://
	addr    string
	chainID string
	timeout time.Duration
	ping    time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	pub    ed25519.PublicKey // the first signer's key
	conns  []*signerConn     // oldest first
	joins  int               // connections admitted so far
	joined chan struct{}     // closed when a connection is admitted, then replaced

	stop chan struct{}
	wg   sync.WaitGroup
}

// signerConn is one connection from a signer. busy holds a token while a
// request is on the wire: a request and its answer are never interleaved
// with another.
type signerConn struct {
	nc   net.Conn
	r    *bufio.Reader
	busy chan struct{}
}

func listenEndpoint(laddr, chainID string, opts RemoteOptions) (*endpoint, error) {
	network, address, err := SplitListenAddr(laddr)
	if err != nil {
		return nil, fmt.Errorf("privval: priv_validator_laddr %q: %w", laddr, err)
	}
	if network == "unix" {
		removeStaleSocket(address)
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("privval: listening for the remote signer on %s: %w (is another node running on this address?)", laddr, err)
	}
	ep := &endpoint{
		ln: ln, addr: laddr, chainID: chainID, timeout: opts.Timeout, ping: opts.PingInterval, log: opts.Logger,
		joined: make(chan struct{}), stop: make(chan struct{}),
	}
	if network == "tcp" {
		// A fresh key, as CometBFT's node uses: the signer is authenticated
		// by the validator key it signs with, not by this one.
		if _, ep.secret, err = ed25519.GenerateKey(nil); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	ep.wg.Add(2)
	go ep.acceptLoop()
	go ep.pingLoop()
	return ep, nil
}

// SplitListenAddr splits priv_validator_laddr (tcp://host:port or
// unix:///path) into a network and an address, or says what to write
// instead.
func SplitListenAddr(laddr string) (network, address string, err error) {
	network, address, _ = strings.Cut(laddr, "://")
	switch {
	case network == "unix" && address != "":
		return network, address, nil
	case network == "tcp":
		if _, _, err := net.SplitHostPort(address); err != nil {
			return "", "", fmt.Errorf("want tcp://host:port: %w", err)
		}
		return network, address, nil
	}
	return "", "", errors.New("want tcp://host:port or unix:///path/to/signer.sock")
}

// removeStaleSocket removes a unix socket file that nothing listens on (left
// by a node that was killed), so that listening on it succeeds.
func removeStaleSocket(path string) {
	if fi, err := os.Stat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		return
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return
	}
	_ = os.Remove(path)
}

// close stops listening and closes every connection.
func (ep *endpoint) close() error {
	close(ep.stop)
	err := ep.ln.Close()
	ep.mu.Lock()
	for _, c := range ep.conns {
		_ = c.nc.Close()
	}
	ep.conns = nil
	ep.mu.Unlock()
	ep.wg.Wait()
	return err
}

func (ep *endpoint) acceptLoop() {
	defer ep.wg.Done()
	for {
		nc, err := ep.ln.Accept()
		if err != nil {
			select {
			case <-ep.stop:
				return
			case <-time.After(100 * time.Millisecond): // e.g. out of file descriptors
			}
			ep.log.Error("accepting a remote signer connection failed", "laddr", ep.addr, "err", err)
			continue
		}
		ep.wg.Add(1)
		go func() {
			defer ep.wg.Done()
			ep.admit(nc)
		}()
	}
}

// admit asks a new connection (over tcp://, once the SecretConnection
// handshake is done) for its public key and keeps it if the key is the
// validator's.
func (ep *endpoint) admit(nc net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), admitTimeout)
	defer cancel()
	err := ep.handshake(ctx, &nc)
	c := &signerConn{nc: nc, r: bufio.NewReaderSize(nc, 4096), busy: make(chan struct{}, 1)}
	var res *privvalpb.Message
	if err == nil {
		res, err = ep.roundTrip(ctx, c, pubKeyRequest(ep.chainID))
	}
	if err == nil {
		var pub ed25519.PublicKey
		if pub, err = pubKeyFrom(res); err == nil {
			err = ep.join(c, pub)
		}
	}
	if err != nil {
		_ = nc.Close()
		ep.log.Error("a remote signer connected but was not admitted (is it set up for this chain and validator?); it may dial again",
			"laddr", ep.addr, "chain_id", ep.chainID, "err", err)
	}
}

// handshake wraps *nc in a SecretConnection over tcp://.
func (ep *endpoint) handshake(ctx context.Context, nc *net.Conn) error {
	if ep.secret == nil {
		return nil
	}
	deadline, _ := ctx.Deadline()
	if err := (*nc).SetDeadline(deadline); err != nil {
		return err
	}
	sc, err := secretHandshake(*nc, ep.secret)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRemoteSigner, err)
	}
	*nc = sc
	return nil
}

func (ep *endpoint) join(c *signerConn, pub ed25519.PublicKey) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	select {
	case <-ep.stop:
		return errors.New("the node is closing")
	default:
	}
	if ep.pub == nil {
		ep.pub = pub
	} else if !bytes.Equal(pub, ep.pub) {
		return fmt.Errorf("%w: it signs with public key %X, but the validator's is %X: point the right signer at this node", ErrRemoteSigner, []byte(pub), []byte(ep.pub))
	}
	ep.conns = append(ep.conns, c)
	if len(ep.conns) > maxSignerConns {
		_ = ep.conns[0].nc.Close()
		ep.conns = ep.conns[1:]
	}
	ep.joins++
	close(ep.joined)
	ep.joined = make(chan struct{})
	ep.log.Info("remote signer connected", "laddr", ep.addr, "connections", len(ep.conns), "admitted_since_start", ep.joins)
	return nil
}

// waitPubKey waits until a signer is admitted and returns its key,
// saying every 10s that it still waits.
func (ep *endpoint) waitPubKey(ctx context.Context) (ed25519.PublicKey, error) {
	remind := time.NewTicker(10 * time.Second)
	defer remind.Stop()
	for {
		ep.mu.Lock()
		pub, joined := ep.pub, ep.joined
		ep.mu.Unlock()
		if pub != nil {
			return pub, nil
		}
		select {
		case <-joined:
		case <-remind.C:
			ep.log.Warn("still waiting for the remote signer to connect; start it and point it at this address", "laddr", ep.addr)
		case <-ctx.Done():
			return nil, fmt.Errorf("privval: no remote signer connected to %s: %w", ep.addr, ctx.Err())
		}
	}
}

// drop closes c and forgets it.
func (ep *endpoint) drop(c *signerConn, why error) {
	_ = c.nc.Close()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for i, k := range ep.conns {
		if k == c {
			ep.conns = append(ep.conns[:i], ep.conns[i+1:]...)
			ep.log.Warn("dropped a remote signer connection; waiting for the signer to dial again", "laddr", ep.addr, "err", why, "connections", len(ep.conns))
			return
		}
	}
}

// request sends req over the newest connection and passes the answer to
// check, within the request timeout. A connection that fails, or whose
// answer check rejects with anything but the signer's refusal (a
// RemoteError), is dropped: a signer that sends the wrong message or a bad
// signature must not keep the node's requests. If the signer had closed
// the connection (errGone), the request is tried on the next newest, if
// any, by the same deadline: after a signer restarts, the node may hold its
// dead connection beside the new one until a ping finds it out, and a
// signer answers a repeated request as it did the first time.
func (ep *endpoint) request(req *privvalpb.Message, check func(*privvalpb.Message) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), ep.timeout)
	defer cancel()
	err := fmt.Errorf("%w: no signer is connected to %s (start it, or check its address)", ErrRemoteSigner, ep.addr)
	for ctx.Err() == nil {
		ep.mu.Lock()
		var c *signerConn
		if n := len(ep.conns); n > 0 {
			c = ep.conns[n-1]
		}
		ep.mu.Unlock()
		if c == nil {
			return err
		}
		var res *privvalpb.Message
		if res, err = ep.roundTrip(ctx, c, req); err == nil {
			var refusal *RemoteError
			if err = check(res); err == nil || errors.As(err, &refusal) {
				return err
			}
		}
		ep.drop(c, err)
		if !errors.Is(err, errGone) {
			return err
		}
	}
	return err
}

// errGone marks a connection that the signer had closed.
var errGone = errors.New("the signer closed the connection")

// gone wraps err with errGone if it says that the peer closed the
// connection.
func gone(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w: %w", errGone, err)
	}
	return err
}

// roundTrip waits until c is free, then writes req on c and reads the
// answer, by ctx's deadline. Any error leaves c unusable (a late answer
// would be taken for the next one's).
func (ep *endpoint) roundTrip(ctx context.Context, c *signerConn, req *privvalpb.Message) (*privvalpb.Message, error) {
	select {
	case c.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: the connection stayed busy with an earlier request: %w", ErrRemoteSigner, ctx.Err())
	}
	defer func() { <-c.busy }()
	return ep.exchange(ctx, c, req)
}

// exchange writes req on c, which the caller holds (c.busy), and reads the
// answer by ctx's deadline.
func (ep *endpoint) exchange(ctx context.Context, c *signerConn, req *privvalpb.Message) (*privvalpb.Message, error) {
	deadline, _ := ctx.Deadline()
	if err := c.nc.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRemoteSigner, err)
	}
	if err := writeMsg(c.nc, req); err != nil {
		return nil, fmt.Errorf("%w: sending %T: %w", ErrRemoteSigner, req.Sum, gone(err))
	}
	var res privvalpb.Message
	switch err := readMsg(c.r, &res); {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("%w: no answer to %T within %v: %w", ErrRemoteSigner, req.Sum, ep.timeout, err)
	case errors.Is(err, errGarbage):
		return nil, fmt.Errorf("%w: reading the answer to %T: %w", ErrRemoteSigner, req.Sum, err)
	case err != nil:
		return nil, fmt.Errorf("%w: reading the answer to %T: %w", ErrRemoteSigner, req.Sum, gone(err))
	}
	return &res, nil
}

// pingLoop pings every idle connection each interval, so that signers
// (which drop a connection that stays silent) keep it, and dead ones are
// noticed. A connection busy with a request is alive enough: it is not
// pinged, lest a slow signature cost the connection.
func (ep *endpoint) pingLoop() {
	defer ep.wg.Done()
	t := time.NewTicker(ep.ping)
	defer t.Stop()
	for {
		select {
		case <-ep.stop:
			return
		case <-t.C:
		}
		ep.mu.Lock()
		conns := append([]*signerConn(nil), ep.conns...)
		ep.mu.Unlock()
		for _, c := range conns {
			select {
			case c.busy <- struct{}{}:
			default:
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), ep.timeout)
			res, err := ep.exchange(ctx, c, pingRequest())
			cancel()
			<-c.busy
			if err == nil && res.GetPingResponse() == nil {
				err = fmt.Errorf("%w: answered a ping with %T", ErrRemoteSigner, res.Sum)
			}
			if err != nil {
				ep.drop(c, err)
			}
		}
	}
}
