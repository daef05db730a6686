package rpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

func benchServer(b *testing.B) *Server {
	b.Helper()
	srv, err := NewServer(DefaultConfig(), newFakeBackend(b, 3), nil)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

func benchMessage(b *testing.B, body string) {
	srv := benchServer(b)
	msg := []byte(body)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, _ := srv.handleMessage(ctx, msg)
		if r, ok := out.(response); !ok || r.Error != nil {
			b.Fatalf("%+v", out)
		}
	}
}

// BenchmarkHandleStatus measures decoding, dispatch and encoding of a
// status request, without HTTP.
func BenchmarkHandleStatus(b *testing.B) {
	benchMessage(b, `{"jsonrpc":"2.0","id":1,"method":"status"}`)
}

// BenchmarkHandleBlock measures a block request (3 commit signatures).
func BenchmarkHandleBlock(b *testing.B) {
	benchMessage(b, `{"jsonrpc":"2.0","id":1,"method":"block","params":{"height":"2"}}`)
}

// BenchmarkPublishBlock measures publishing a 1-tx block to ten
// subscribers, one of which matches the tx.
func BenchmarkPublishBlock(b *testing.B) {
	be := newFakeBackend(b, 1)
	bus := eventbus.New(nil, 0)
	ctx := b.Context()
	chans := make([]<-chan eventbus.Event, 0, 10)
	for i := range 10 {
		qs := "tm.event='NewBlockHeader'"
		if i == 0 {
			qs = "tm.event='Tx' AND transfer.key='k1'"
		}
		q, err := query.Parse(qs)
		if err != nil {
			b.Fatal(err)
		}
		ch, err := bus.Subscribe(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		chans = append(chans, ch)
	}
	b.ReportAllocs()
	for b.Loop() {
		bus.PublishBlock(be.blocks[0], be.ids[0], be.results[0])
		for _, ch := range chans {
			<-ch
		}
	}
}

// discardBackend accepts every tx without keeping it, so that broadcast
// benchmarks measure the RPC server and not a growing fake mempool.
type discardBackend struct{ *fakeBackend }

func (discardBackend) BroadcastTx(context.Context, []byte) (*abci.ResponseCheckTx, error) {
	return &abci.ResponseCheckTx{GasWanted: 1}, nil
}

// discardWriter is an http.ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// broadcastBody is a broadcast request of a 250-byte tx, as bftnode bench
// and CometBFT clients send it.
func broadcastBody(method string) []byte {
	tx := bytes.Repeat([]byte("k"), 250)
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":123456,"method":%q,"params":{"tx":%q}}`,
		method, base64.StdEncoding.EncodeToString(tx))
}

// BenchmarkServeBroadcastTx measures the server's handler for one POSTed
// broadcast request: body reading, decoding, dispatch, the call and the
// response, without the HTTP transport.
func BenchmarkServeBroadcastTx(b *testing.B) {
	for _, method := range []string{"broadcast_tx_async", "broadcast_tx_sync"} {
		b.Run(method, func(b *testing.B) {
			srv, err := NewServer(DefaultConfig(), discardBackend{newFakeBackend(b, 1)}, nil)
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			body := broadcastBody(method)
			rd := bytes.NewReader(body)
			req := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(rd))
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				w.status, w.n = 0, 0
				clear(w.h)
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK || w.n == 0 {
					b.Fatalf("status %d, %d bytes", w.status, w.n)
				}
			}
			srv.stop()
			srv.async.Wait()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTransport serves a discarding backend on loopback and runs fn,
// reporting the process's CPU time per op: the client's and the server's.
func benchTransport(b *testing.B, fn func(url string)) {
	cfg := DefaultConfig()
	cfg.ListenAddress = "tcp://127.0.0.1:0"
	_, addr, _ := serve(b, cfg, discardBackend{newFakeBackend(b, 1)})
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	fn(addr)
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkHTTPBroadcastTxAsync measures broadcast_tx_async with one HTTP
// POST per tx over a kept-alive connection, client and server together.
func BenchmarkHTTPBroadcastTxAsync(b *testing.B) {
	body := broadcastBody("broadcast_tx_async")
	benchTransport(b, func(addr string) {
		hc := &http.Client{}
		defer hc.CloseIdleConnections()
		for range b.N {
			resp, err := hc.Post("http://"+addr+"/", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkWebsocketBroadcastTxAsync measures broadcast_tx_async pipelined
// over one websocket, client and server together.
func BenchmarkWebsocketBroadcastTxAsync(b *testing.B) {
	body := broadcastBody("broadcast_tx_async")
	benchTransport(b, func(addr string) {
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/websocket", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		defer conn.Close()
		window := make(chan struct{}, 64)
		go func() {
			for range b.N {
				window <- struct{}{}
				if err := conn.WriteMessage(websocket.TextMessage, body); err != nil {
					return
				}
			}
		}()
		for range b.N {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			<-window
			if !bytes.Contains(msg, []byte(`"result"`)) {
				b.Fatalf("%s", msg)
			}
		}
	})
}
