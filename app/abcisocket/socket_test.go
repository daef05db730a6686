package abcisocket

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// testApp answers every call with a response derived from its request, so a
// mixed-up response shows.
type testApp struct {
	app.BaseApplication
}

var errBoom = errors.New("boom")

func (testApp) Info(_ context.Context, req *abci.RequestInfo) (*abci.ResponseInfo, error) {
	return &abci.ResponseInfo{Data: "info " + req.Version, LastBlockHeight: 7, LastBlockAppHash: []byte("hash")}, nil
}

func (testApp) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if req.Path == "/fail" {
		return nil, errBoom
	}
	return &abci.ResponseQuery{Key: req.Data, Value: append([]byte("value of "), req.Data...)}, nil
}

func (testApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	return &abci.ResponseCheckTx{Data: req.Tx, Code: uint32(len(req.Tx))}, nil
}

func (testApp) InsertTx(_ context.Context, req *abci.RequestInsertTx) (*abci.ResponseInsertTx, error) {
	return &abci.ResponseInsertTx{Code: uint32(len(req.Tx))}, nil
}

func (testApp) ReapTxs(_ context.Context, req *abci.RequestReapTxs) (*abci.ResponseReapTxs, error) {
	return &abci.ResponseReapTxs{Txs: [][]byte{fmt.Appendf(nil, "bytes %d", req.MaxBytes), fmt.Appendf(nil, "gas %d", req.MaxGas)}}, nil
}

func (testApp) ExtendVote(_ context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	return &abci.ResponseExtendVote{VoteExtension: req.Hash}, nil
}

func (testApp) LoadSnapshotChunk(_ context.Context, req *abci.RequestLoadSnapshotChunk) (*abci.ResponseLoadSnapshotChunk, error) {
	return &abci.ResponseLoadSnapshotChunk{Chunk: fmt.Appendf(nil, "chunk %d", req.Chunk)}, nil
}

// startServer serves application on a fresh listener of the given network
// until the test ends, and returns its address.
func startServer(t testing.TB, network string, application app.Application) string {
	t.Helper()
	addr := "tcp://127.0.0.1:0"
	if network == "unix" {
		addr = "unix://" + filepath.Join(t.TempDir(), "app.sock")
	}
	ln, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{App: application}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return URL(ln)
}

func dial(t testing.TB, addr string, opts Options) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// appCalls calls every Application method with a sample request and returns
// the responses.
func appCalls(ctx context.Context, a app.Application) ([]Marshaler, error) {
	reqs := sampleRequests()
	var out []Marshaler
	add := func(m Marshaler, err error) error {
		out = append(out, m)
		return err
	}
	return out, errors.Join(
		add(a.Info(ctx, reqs["info"].GetInfo())),
		add(a.Query(ctx, reqs["query"].GetQuery())),
		add(a.CheckTx(ctx, reqs["check_tx"].GetCheckTx())),
		add(a.InitChain(ctx, reqs["init_chain"].GetInitChain())),
		add(a.PrepareProposal(ctx, reqs["prepare_proposal"].GetPrepareProposal())),
		add(a.ProcessProposal(ctx, reqs["process_proposal"].GetProcessProposal())),
		add(a.FinalizeBlock(ctx, reqs["finalize_block"].GetFinalizeBlock())),
		add(a.ExtendVote(ctx, reqs["extend_vote"].GetExtendVote())),
		add(a.VerifyVoteExtension(ctx, reqs["verify_vote_extension"].GetVerifyVoteExtension())),
		add(a.Commit(ctx, reqs["commit"].GetCommit())),
		add(a.ListSnapshots(ctx, reqs["list_snap"].GetListSnapshots())),
		add(a.OfferSnapshot(ctx, reqs["offer_snap"].GetOfferSnapshot())),
		add(a.LoadSnapshotChunk(ctx, reqs["load_chunk"].GetLoadSnapshotChunk())),
		add(a.ApplySnapshotChunk(ctx, reqs["apply_chunk"].GetApplySnapshotChunk())),
		add(a.InsertTx(ctx, &abci.RequestInsertTx{Tx: []byte("k=v")})),
		add(a.ReapTxs(ctx, &abci.RequestReapTxs{MaxBytes: 7, MaxGas: 9})),
	)
}

// TestRoundTrip calls every method over a real socket and checks that each
// answer is exactly what the application gives in process.
func TestRoundTrip(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			ctx := context.Background()
			c := dial(t, startServer(t, network, testApp{}), Options{})
			if err := c.Echo(ctx, "ping"); err != nil {
				t.Fatalf("Echo: %v", err)
			}
			want, err := appCalls(ctx, testApp{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := appCalls(ctx, c)
			if err != nil {
				t.Fatalf("over the socket: %v", err)
			}
			for i := range want {
				if !bytes.Equal(frameOf(t, got[i]), frameOf(t, want[i])) {
					t.Errorf("call %d: got %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestPipelined checks that concurrent calls on one connection each get
// their own response.
func TestPipelined(t *testing.T) {
	c := dial(t, startServer(t, "tcp", testApp{}), Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tx := fmt.Appendf(nil, "tx-%d-%d", g, i)
				res, err := c.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(res.Data, tx) {
					t.Errorf("CheckTx(%s) answered for %s", tx, res.Data)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestException checks that an application error reaches the caller and
// leaves the connection usable.
func TestException(t *testing.T) {
	ctx := context.Background()
	c := dial(t, startServer(t, "tcp", testApp{}), Options{})
	_, err := c.Query(ctx, &abci.RequestQuery{Path: "/fail"})
	if !errors.Is(err, ErrAppException) || errors.Is(err, ErrAppDead) {
		t.Fatalf("Query = %v, want an ErrAppException", err)
	}
	if _, err := c.Query(ctx, &abci.RequestQuery{Data: []byte("k")}); err != nil {
		t.Fatalf("Query after exception: %v", err)
	}
}

// TestCancelledCallKeepsConnection checks that a call abandoned by its
// context leaves the connection in step for the next call.
func TestCancelledCallKeepsConnection(t *testing.T) {
	c := dial(t, startServer(t, "tcp", testApp{}), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Info(ctx, &abci.RequestInfo{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Info with a cancelled context = %v", err)
	}
	res, err := c.Info(context.Background(), &abci.RequestInfo{Version: "x"})
	if err != nil || res.Data != "info x" {
		t.Fatalf("Info = %v, %v", res, err)
	}
}

// badServer accepts connections on loopback and hands each to behave.
func badServer(t *testing.T, behave func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				behave(nc)
			})
		}
	})
	return URL(ln)
}

// readOneRequest waits for a request (and its Flush) to arrive.
func readOneRequest(nc net.Conn) bool {
	var req abci.Request
	return ReadMessage(bufio.NewReader(nc), &req, DefaultMaxMessageSize) == nil
}

// TestDeadApp checks that each way an application can fail gives an
// ErrAppDead quickly, on that call and on the next.
func TestDeadApp(t *testing.T) {
	const timeout = 200 * time.Millisecond
	tests := []struct {
		name   string
		behave func(net.Conn)
		opts   Options
	}{
		{"closes", func(nc net.Conn) { readOneRequest(nc) }, Options{}},
		{"garbage", func(nc net.Conn) {
			readOneRequest(nc)
			nc.Write([]byte{4, 0xff, 0xff, 0xff, 0xff})
			readOneRequest(nc) // hold the connection until the client drops it
		}, Options{}},
		{"wrong response type", func(nc net.Conn) {
			readOneRequest(nc)
			WriteMessage(nc, sampleResponses()["commit"])
			readOneRequest(nc)
		}, Options{}},
		{"oversized response", func(nc net.Conn) {
			readOneRequest(nc)
			WriteMessage(nc, &abci.Response{Value: &abci.Response_Info{Info: &abci.ResponseInfo{Data: string(make([]byte, 2000))}}})
			readOneRequest(nc)
		}, Options{MaxMessageSize: 1000}},
		{"hangs", func(nc net.Conn) {
			readOneRequest(nc)
			readOneRequest(nc) // never answers; returns when the client gives up
		}, Options{RequestTimeout: timeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, badServer(t, tt.behave), tt.opts)
			start := time.Now()
			_, err := c.Info(context.Background(), &abci.RequestInfo{})
			if !errors.Is(err, ErrAppDead) {
				t.Fatalf("Info = %v, want ErrAppDead", err)
			}
			if elapsed := time.Since(start); elapsed > timeout+2*time.Second {
				t.Errorf("took %v to notice", elapsed)
			}
			t.Logf("error: %v", err)
			if _, err := c.Query(context.Background(), &abci.RequestQuery{}); !errors.Is(err, ErrAppDead) {
				t.Fatalf("next call = %v, want ErrAppDead", err)
			}
		})
	}
}

// TestContextDeadline checks that a context deadline also bounds a call.
func TestContextDeadline(t *testing.T) {
	c := dial(t, badServer(t, func(nc net.Conn) { readOneRequest(nc); readOneRequest(nc) }), Options{RequestTimeout: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Info(ctx, &abci.RequestInfo{}); !errors.Is(err, ErrAppDead) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Info = %v, want ErrAppDead wrapping DeadlineExceeded", err)
	}
}

func TestDialErrors(t *testing.T) {
	if _, err := Dial(context.Background(), "udp://127.0.0.1:1", Options{}); !errors.Is(err, ErrBadAddress) {
		t.Errorf("Dial udp = %v, want ErrBadAddress", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := URL(ln)
	ln.Close() // nothing listens there now
	if _, err := Dial(context.Background(), addr, Options{}); !errors.Is(err, ErrAppDead) {
		t.Errorf("Dial closed port = %v, want ErrAppDead", err)
	}
}

// TestServerStops checks that cancelling Serve's context closes the
// connections, so clients see the application gone.
func TestServerStops(t *testing.T) {
	ln, err := Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{App: testApp{}}).Serve(ctx, ln) }()
	c := dial(t, URL(ln), Options{})
	if err := c.Echo(context.Background(), "up"); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if err := c.Echo(context.Background(), "down"); !errors.Is(err, ErrAppDead) {
		t.Fatalf("Echo after stop = %v, want ErrAppDead", err)
	}
}

// TestUnknownRequest: a request of a method the server does not know (here
// field 30, which no CometBFT version uses) is answered with an exception that
// says so, and the connection goes on.
func TestUnknownRequest(t *testing.T) {
	addr := startServer(t, "tcp", testApp{})
	nc, err := net.Dial("tcp", addr[len("tcp://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// A 3-byte Request: field 30, length-delimited, empty.
	if _, err := nc.Write([]byte{3, 0xf2, 0x01, 0x00}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMessage(nc, &abci.Request{Value: &abci.Request_Echo{Echo: &abci.RequestEcho{Message: "still there"}}}); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	var res abci.Response
	if err := ReadMessage(r, &res, DefaultMaxMessageSize); err != nil {
		t.Fatal(err)
	}
	if ex := res.GetException(); ex == nil || !strings.Contains(ex.Error, ErrUnknownRequest.Error()) {
		t.Fatalf("answer to an unknown request: %v, want an exception naming it unknown", &res)
	}
	var echo abci.Response
	if err := ReadMessage(r, &echo, DefaultMaxMessageSize); err != nil {
		t.Fatal(err)
	}
	if echo.GetEcho().GetMessage() != "still there" {
		t.Fatalf("answer to the Echo after it: %v", &echo)
	}
}

// TestServerLogsBadFrame: a client that sends what is not an ABCI frame
// (here a zig-zag length, as bftnode once wrote) is dropped, and the
// server's log says why.
func TestServerLogsBadFrame(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	ln, err := Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&Server{App: testApp{}, Logger: slog.New(slog.NewTextHandler(logFile, nil))}).Serve(ctx, ln)
	}()
	defer func() {
		cancel()
		<-done
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Echo "hi" with its length 6 zig-zag encoded as 12: the server reads a
	// 12-byte message, the 6 bytes of this one and the 6 that follow.
	frame := []byte{12, 0x0a, 0x04, 0x0a, 0x02, 'h', 'i'}
	if _, err := nc.Write(append(frame, frame[:6]...)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read after a bad frame = %v, want the server to close the connection", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		logged, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(logged, []byte("level=WARN")) && bytes.Contains(logged, []byte(ErrBadFrame.Error())) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's log does not say why it dropped the client:\n%s", logged)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
