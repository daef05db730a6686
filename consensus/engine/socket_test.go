package engine_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/app/kvstore"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// kvstoreOverSocket serves the node's kvstore on a loopback ABCI socket and
// returns a client of it.
func kvstoreOverSocket(dir string) func() (app.Application, func() error, error) {
	return func() (app.Application, func() error, error) {
		kv, err := kvstore.Open(filepath.Join(dir, "app"))
		if err != nil {
			return nil, nil, err
		}
		ln, err := abcisocket.Listen("tcp://127.0.0.1:0")
		if err != nil {
			kv.Close()
			return nil, nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- (&abcisocket.Server{App: kv}).Serve(ctx, ln) }()
		client, err := abcisocket.Dial(ctx, abcisocket.URL(ln), abcisocket.Options{})
		if err != nil {
			cancel()
			<-served
			kv.Close()
			return nil, nil, err
		}
		closeAll := func() error {
			err := client.Close()
			cancel()
			return errors.Join(err, <-served, kv.Close())
		}
		return client, closeAll, nil
	}
}

// The same chain, run by two nodes with kvstore in process and two with
// kvstore behind the ABCI socket, reaches identical app hashes at every
// height.
func TestSocketAndInProcessAppsAgree(t *testing.T) {
	c := newCluster(t, 4, 10)
	for _, nd := range c.nodes[2:] {
		nd.openApp = kvstoreOverSocket(nd.dir)
	}
	c.startAll()
	for i := range 40 {
		if err := c.nodes[i%4].submit([]byte{'k', byte('a' + i%26), '=', byte('0' + i%10)}); err != nil {
			t.Fatal(err)
		}
	}
	c.waitHeight(10, 60*time.Second)
	h := c.checkSameChain()
	for height := int64(1); height <= h; height++ {
		var want []byte
		for i, nd := range c.nodes {
			bz, err := nd.store.LoadFinalizeBlockResponse(height)
			if err != nil {
				t.Fatal(err)
			}
			var resp abci.ResponseFinalizeBlock
			if err := resp.Unmarshal(bz); err != nil {
				t.Fatal(err)
			}
			if len(resp.AppHash) == 0 {
				t.Fatalf("height %d: %s has no app hash", height, nd.id)
			}
			if i == 0 {
				want = resp.AppHash
			} else if !bytes.Equal(resp.AppHash, want) {
				t.Fatalf("height %d: %s (socket=%v) app hash %X, n0 %X", height, nd.id, i >= 2, resp.AppHash, want)
			}
		}
	}
}
