package rpc

import (
	"context"
	"testing"
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
	bus := NewEventBus(nil, 0)
	ctx := b.Context()
	chans := make([]<-chan Event, 0, 10)
	for i := range 10 {
		qs := "tm.event='NewBlockHeader'"
		if i == 0 {
			qs = "tm.event='Tx' AND transfer.key='k1'"
		}
		q, err := ParseQuery(qs)
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
