package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/abcisocket"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAppKVStoreServesABCI(t *testing.T) {
	dir := t.TempDir()
	addr := "unix://" + filepath.Join(dir, "kv.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"app", "kvstore", "--listen", addr, "--db", filepath.Join(dir, "db"), "--home", dir},
			&stdout, &stderr, func(string) (string, bool) { return "", false })
	}()

	// Poll, with a deadline, until the server accepts a connection.
	deadline := time.Now().Add(30 * time.Second)
	var client *abcisocket.Client
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		c, err := abcisocket.Dial(dctx, addr, abcisocket.Options{})
		dcancel()
		if err == nil {
			client = c
			break
		}
		select {
		case code := <-done:
			t.Fatalf("app kvstore exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never came up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer client.Close() //nolint:errcheck
	info, err := client.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 0 {
		t.Fatalf("fresh app at height %d", info.LastBlockHeight)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after cancel: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("app kvstore did not stop on cancel")
	}
	if !strings.Contains(stderr.String(), "serving the kvstore app") {
		t.Fatalf("stderr: %s", stderr.String())
	}
}

func TestAppKVStoreBadListen(t *testing.T) {
	r := runCLI(t, nil, "app", "kvstore", "--listen", "ftp://x", "--db", filepath.Join(t.TempDir(), "db"))
	if r.code != exitError || !strings.Contains(r.stderr, "--listen") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}
