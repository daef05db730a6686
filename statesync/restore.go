package statesync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// progressEvery is how often the restore logs its progress.
const progressEvery = time.Second

// restore fetches snap's chunks with ChunkFetchers fetchers and applies
// them in order, honouring every ApplySnapshotChunk result and its
// refetch_chunks and reject_senders.
func (s *Syncer) restore(ctx context.Context, snap Snapshot) error {
	q := newQueue(snap.Chunks, 2*s.cfg.ChunkFetchers, s.pool.peersOf(snap))
	fetchCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range s.cfg.ChunkFetchers {
		wg.Go(func() { s.fetch(fetchCtx, snap, q) })
	}

	start := time.Now()
	lastLog := start
	applied := 0
	for {
		c, done, err := q.next(ctx)
		if err != nil {
			return err
		}
		if done {
			s.progress(snap, q.size(), q.size(), start)
			return nil
		}
		resp, err := s.app.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: c.index, Chunk: c.data, Sender: c.sender})
		if err != nil {
			return fmt.Errorf("state sync: ApplySnapshotChunk %d: %w", c.index, err)
		}
		if resp.Result == abci.ResponseApplySnapshotChunk_ACCEPT {
			q.markApplied(c.index)
			applied++
		}
		for _, i := range resp.RefetchChunks {
			q.discard(i)
		}
		for _, p := range resp.RejectSenders {
			if p == "" {
				continue
			}
			s.pool.rejectPeer(p)
			q.rejectPeer(p)
			s.net.ReportPeer(p, ErrBadChunk)
			s.log.Warn("state sync: the application rejected a sender; its chunks are fetched from other peers", "peer", p)
		}
		switch resp.Result {
		case abci.ResponseApplySnapshotChunk_ACCEPT:
		case abci.ResponseApplySnapshotChunk_ABORT:
			return ErrAborted
		case abci.ResponseApplySnapshotChunk_RETRY:
			// The chunk is applied again (fetched again if refetch_chunks
			// or reject_senders dropped it).
		case abci.ResponseApplySnapshotChunk_RETRY_SNAPSHOT:
			return errRetrySnapshot
		case abci.ResponseApplySnapshotChunk_REJECT_SNAPSHOT:
			return fmt.Errorf("%w by the application (ApplySnapshotChunk REJECT_SNAPSHOT at chunk %d)", errRejectSnapshot, c.index)
		default:
			return fmt.Errorf("state sync: ApplySnapshotChunk returned result %v, which ABCI does not define: fix the application", resp.Result)
		}
		if now := time.Now(); now.Sub(lastLog) >= progressEvery {
			lastLog = now
			s.progress(snap, applied, q.size(), start)
		}
	}
}

// progress logs one progress line: chunks done of total and the rate.
func (s *Syncer) progress(snap Snapshot, done, total int, start time.Time) {
	elapsed := time.Since(start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	s.log.Info("state sync: restoring", "height", snap.Height, "chunks", fmt.Sprintf("%d/%d", done, total),
		"rate", fmt.Sprintf("%.1f chunks/s", rate), "elapsed", elapsed.Round(time.Millisecond))
}

// fetch is one fetcher: it takes a chunk to fetch from q, asks the peer q
// chose, and reports the chunk or the failure (a timeout, an error, a
// wrong answer) back to q; a failing peer is reported to the network.
func (s *Syncer) fetch(ctx context.Context, snap Snapshot, q *queue) {
	for {
		i, peer, err := q.allocate(ctx)
		if err != nil {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.ChunkRequestTimeout)
		data, err := s.net.LoadChunk(rctx, peer, snap, i)
		timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			q.deliver(i, data, peer)
			continue
		}
		if timedOut {
			err = fmt.Errorf("no chunk %d within chunk_request_timeout (%s): %w", i, s.cfg.ChunkRequestTimeout, err)
		}
		s.log.Info("state sync: chunk not received; asking another peer", "peer", peer, "chunk", i, "err", err)
		s.net.ReportPeer(peer, fmt.Errorf("state sync: chunk %d of snapshot at height %d: %w", i, snap.Height, err))
		if !slices.Contains(s.net.SnapshotPeers(), peer) {
			q.dropPeer(peer)
		}
		if q.fail(i, peer) {
			// Every peer failed this chunk: pause before going round again.
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(s.cfg.ChunkRequestTimeout, time.Second)):
			}
		}
	}
}
