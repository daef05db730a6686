package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func runOpts(endpoints ...string) Options {
	return Options{Endpoints: endpoints, Duration: 150 * time.Millisecond, TxSize: 100, Connections: 3,
		Rate: 2000, Drain: 10 * time.Second, RunID: "t"}
}

func TestRunCountsCommittedAndRejected(t *testing.T) {
	for _, tc := range []struct{ poll, http bool }{{false, false}, {true, false}, {false, true}} {
		poll := tc.poll
		f := newFakeNode(t)
		// Refuse the txs whose sequence number ends in 5; hide the third
		// block from the websocket, so that the runner must fetch it.
		f.refuse = func(tx []byte) bool { return bytes.Contains(tx, []byte("5=")) }
		// Answer those ending in 7 with an error, and those ending in 3
		// or 9 with a refusal for overload: CometBFT's words, and the
		// older ones of bftnode.
		f.fail = func(tx []byte) bool { return bytes.Contains(tx, []byte("7=")) }
		f.full = func(tx []byte) string {
			switch {
			case bytes.Contains(tx, []byte("3=")):
				return "mempool is full: number of txs 5000 (max: 5000), total txs bytes 1250000 (max: 1073741824)"
			case bytes.Contains(tx, []byte("9=")):
				return "mempool: full: 5000 txs (max 5000), 1250000 bytes (max 1073741824) pooled or reserved, tx of 100 bytes"
			}
			return ""
		}
		f.skipWS = 3
		srv := f.start()
		o := runOpts(srv.URL, strings.TrimPrefix(srv.URL, "http://"))
		o.Sync, o.Poll, o.HTTP = true, poll, tc.http
		// A modest rate, so that a loaded machine still commits blocks
		// within the load period.
		o.Rate, o.Duration = 500, 300*time.Millisecond
		var progress bytes.Buffer
		o.Progress = &progress
		s, err := Run(context.Background(), o)
		if err != nil {
			t.Fatalf("poll=%v http=%v: %v", poll, tc.http, err)
		}
		f.mu.Lock()
		got, refused, failed, overloaded, inBlocks := f.got, f.refused, f.failed, f.overloaded, 0
		for _, txs := range f.blocks {
			inBlocks += len(txs)
		}
		f.mu.Unlock()
		// Requests cut short by the end of the load reached the node but
		// count as not submitted, unless they show up in a block: one per
		// connection over HTTP (a websocket waits for their answers).
		conns := int64(o.Connections)
		if s.Submitted == 0 || s.Submitted > int64(got) || s.Submitted < int64(got)-conns {
			t.Errorf("poll=%v http=%v: submitted %d, the node received %d", poll, tc.http, s.Submitted, got)
		}
		if s.Rejected+s.Refused+s.Errors+s.Committed != s.Submitted || s.Lost != 0 || s.Duplicates != 0 {
			t.Errorf("poll=%v http=%v: %+v: want every tx committed, rejected, refused or failed", poll, tc.http, s)
		}
		if s.Refused > int64(overloaded) || s.Refused < int64(overloaded)-conns || overloaded < 2 {
			t.Errorf("poll=%v http=%v: %d refused, the node refused %d for overload", poll, tc.http, s.Refused, overloaded)
		}
		if s.Errors > int64(failed) || s.Errors < int64(failed)-conns || failed == 0 {
			t.Errorf("poll=%v http=%v: %d errors, the node failed %d", poll, tc.http, s.Errors, failed)
		}
		if s.Committed > int64(inBlocks) || s.Committed < int64(inBlocks)-conns {
			t.Errorf("poll=%v http=%v: committed %d, the blocks hold %d", poll, tc.http, s.Committed, inBlocks)
		}
		if s.Rejected > int64(refused) || s.Rejected < int64(refused)-conns || refused == 0 {
			t.Errorf("poll=%v http=%v: rejected %d, the node refused %d", poll, tc.http, s.Rejected, refused)
		}
		if s.LatencyP50 <= 0 || s.LatencyP95 < s.LatencyP50 || s.LatencyP99 < s.LatencyP95 || s.LatencyMax < s.LatencyP99 {
			t.Errorf("poll=%v http=%v: latencies p50 %v p95 %v p99 %v max %v", poll, tc.http, s.LatencyP50, s.LatencyP95, s.LatencyP99, s.LatencyMax)
		}
		// One row per block, heights in a row (the skipped one fetched),
		// holding every committed tx.
		benchTxs := int64(0)
		for i, b := range s.PerBlock {
			benchTxs += int64(b.BenchTxs)
			if i > 0 && b.Height != s.PerBlock[i-1].Height+1 {
				t.Errorf("poll=%v http=%v: block %d after %d", poll, tc.http, b.Height, s.PerBlock[i-1].Height)
			}
		}
		if benchTxs != s.Committed || len(s.PerBlock) == 0 || s.PerBlock[len(s.PerBlock)-1].Height != s.LastHeight {
			t.Errorf("poll=%v http=%v: per-block stats hold %d txs of %d committed, %d blocks up to height %d",
				poll, tc.http, benchTxs, s.Committed, len(s.PerBlock), s.LastHeight)
		}
		if s.Blocks == 0 || s.Heights == 0 || s.TxSize != 100 || s.Mode != "sync" {
			t.Errorf("poll=%v http=%v: summary %+v", poll, tc.http, s)
		}
	}
}

func TestRunPacesToRate(t *testing.T) {
	f := newFakeNode(t)
	srv := f.start()
	o := runOpts(srv.URL)
	o.Rate, o.Duration = 100, 300*time.Millisecond
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// 100 tx/s for 0.3 s is about 30 txs; flat out would be thousands.
	if s.Submitted < 5 || s.Submitted > 40 {
		t.Errorf("submitted %d txs at 100 tx/s in 0.3 s", s.Submitted)
	}
	if s.Committed != s.Submitted || s.Mode != "async" {
		t.Errorf("summary %+v", s)
	}
}

func TestRunNoLoadMeasuresHeights(t *testing.T) {
	f := newFakeNode(t)
	srv := f.start()
	o := runOpts(srv.URL)
	o.NoLoad, o.Duration = true, 200*time.Millisecond
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Submitted != 0 || s.Heights == 0 || s.BlocksPerSec <= 0 || !s.NoLoad {
		t.Errorf("summary %+v", s)
	}
}

func TestRunCancelledReturnsPartialSummary(t *testing.T) {
	f := newFakeNode(t)
	srv := f.start()
	o := runOpts(srv.URL)
	o.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	f.refuse = func([]byte) bool { cancel(); return false } // cancel at the first tx
	o.Sync = true
	s, err := Run(ctx, o)
	if !errors.Is(err, context.Canceled) || s == nil {
		t.Fatalf("Run = %v, %v; want a summary and context.Canceled", s, err)
	}
}

func TestRunRejectsBadOptionsAndEndpoints(t *testing.T) {
	good := runOpts("http://127.0.0.1:1")
	for name, mod := range map[string]func(*Options){
		"no endpoints":  func(o *Options) { o.Endpoints = nil },
		"negative rate": func(o *Options) { o.Rate = -1 },
		"no duration":   func(o *Options) { o.Duration = 0 },
		"no conns":      func(o *Options) { o.Connections = 0 },
		"tiny txs":      func(o *Options) { o.TxSize = 3 },
		"bad endpoint":  func(o *Options) { o.Endpoints = []string{"ftp://x"} },
	} {
		o := good
		mod(&o)
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrBadOptions) {
			t.Errorf("%s: %v, want ErrBadOptions", name, err)
		}
	}
	// A node that is not there: a clear error, not a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Run(ctx, good); err == nil || errors.Is(err, ErrBadOptions) {
		t.Errorf("unreachable node: %v", err)
	}
}
