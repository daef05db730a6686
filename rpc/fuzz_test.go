package rpc

import (
	"context"
	"errors"
	"testing"
)

// exerciseParams reads every parameter of a with every getter; each must
// return a value or an error wrapping ErrInvalidParams, never panic.
func exerciseParams(t *testing.T, a *args, names []string) {
	t.Helper()
	check := func(err error) {
		if err != nil && !errors.Is(err, ErrInvalidParams) {
			t.Fatalf("error %v does not wrap ErrInvalidParams", err)
		}
	}
	for _, n := range names {
		_, err := a.Int64(n, 0)
		check(err)
		_, _, err = a.OptInt64(n)
		check(err)
		_, err = a.Bool(n, false)
		check(err)
		_, err = a.String(n, "")
		check(err)
		_, err = a.Bytes(n, true)
		check(err)
		_, err = a.HexData(n)
		check(err)
		_, err = a.Hash(n)
		check(err)
	}
}

// FuzzParams decodes params from a JSON-RPC body and from a URI query
// string, reads them with every getter, and runs the whole message through
// the server's dispatcher against the fake backend.
func FuzzParams(f *testing.F) {
	f.Add(`{"height":"5"}`, `height=5`)
	f.Add(`["1","2"]`, `minHeight=1&maxHeight="2"`)
	f.Add(`{"tx":"YT1i"}`, `tx="a=b"`)
	f.Add(`{"tx":"0x6162"}`, `tx=0x6162`)
	f.Add(`{"hash":"0102030405060708091011121314151617181920212223242526272829303132"}`, `hash=0xAB`)
	f.Add(`{"query":"tm.event='Tx' AND transfer.key='x'","page":2}`, `query="tx.height>5"&per_page=1`)
	f.Add(`{"prove":true,"data":"6b31"}`, `prove=true&data="k"`)
	f.Add(`null`, ``)
	f.Add(`{"height":{}}`, `height=%zz`)
	f.Add(`[`, `a=1&a=2`)
	names := []string{"height", "minHeight", "maxHeight", "tx", "hash", "query", "page", "per_page", "prove", "data", "path", "order_by", "limit"}
	be := newFakeBackend(f, 3)
	srv, err := NewServer(DefaultConfig(), be, nil)
	if err != nil {
		f.Fatal(err)
	}
	methods := sortedKeys(srv.methods)
	f.Fuzz(func(t *testing.T, jsonParams, uriQuery string) {
		if a, err := parseJSONParams([]byte(jsonParams), names); err == nil {
			exerciseParams(t, a, names)
		} else if !errors.Is(err, ErrInvalidParams) {
			t.Fatalf("JSON params error %v does not wrap ErrInvalidParams", err)
		}
		if q, err := parseQueryString(uriQuery); err == nil {
			if a, err := parseURIParams(q, names); err == nil {
				exerciseParams(t, a, names)
			}
		}
		// Read-only methods only: the fuzzer must not grow the fake's mempool.
		for _, m := range methods {
			if m == "broadcast_tx_async" || m == "broadcast_tx_sync" || m == "broadcast_tx_commit" {
				continue
			}
			body := `{"jsonrpc":"2.0","id":1,"method":"` + m + `","params":` + jsonParams + `}`
			out, _ := srv.handleMessage(context.Background(), []byte(body))
			r, ok := out.(response)
			if !ok {
				t.Fatalf("%s: response %T", m, out)
			}
			if r.Error != nil && r.Error.Code == CodeInternalError && r.Error.Data == "internal error in "+m {
				t.Fatalf("%s panicked on params %q", m, jsonParams)
			}
		}
	})
}
