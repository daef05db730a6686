package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/bftnode/bftnode/consensus/msgs"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	"github.com/bftnode/bftnode/types"
)

var (
	errMissing   = errors.New("p2p: peer lacks the block")
	errBadCommit = errors.New("p2p: commit not signed by the validators")
)

// handleBlockSync serves one BlockRequest from the BlockSource.
func (t *Transport) handleBlockSync(s network.Stream) {
	defer s.Close()
	var req p2ppb.BlockRequest
	if !t.readRequest(s, KindBlockSync, &req, func() error {
		if req.FromHeight <= 0 || req.ToHeight < req.FromHeight || req.ToHeight-req.FromHeight >= maxSyncBatch {
			return fmt.Errorf("%w: block request %d..%d", ErrBadFrame, req.FromHeight, req.ToHeight)
		}
		return nil
	}) {
		return
	}
	p := s.Conn().RemotePeer()
	if !t.serving.start(p) {
		_ = s.Reset() // the peer retries, or asks another
		return
	}
	defer t.serving.done(p)
	// A peer that stops reading holds its slot until the deadline, not for
	// good.
	_ = s.SetWriteDeadline(time.Now().Add(serveTimeout))
	w := bufio.NewWriterSize(s, 256<<10)
	for h := req.FromHeight; h <= req.ToHeight; h++ {
		resp := t.loadResponse(h)
		f, err := encodeFrame(resp)
		if err != nil || len(f) > t.cfg.maxSyncFrame() {
			f, _ = encodeFrame(&p2ppb.BlockResponse{Height: h, Missing: true})
		}
		if _, err := w.Write(f); err != nil {
			_ = s.Reset()
			return
		}
		t.stats.sent(KindBlockSync, len(f))
	}
	if err := w.Flush(); err != nil {
		_ = s.Reset()
	}
}

// Block sync requests served at once: per peer, and in all. A request past
// either bound is refused (its stream reset), so no peer can keep this
// node loading and sending blocks for many streams in parallel.
const (
	maxServingPerPeer = 2
	maxServing        = 16
	serveTimeout      = 30 * time.Second // to write the answer to one request
)

// servingSlots counts the block sync requests being served, per peer and
// in all, under its own lock (not the transport's).
type servingSlots struct {
	mu    sync.Mutex
	peers map[peer.ID]int
	total int
}

// start reserves a serving slot for p, if one is free.
func (sl *servingSlots) start(p peer.ID) bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.peers[p] >= maxServingPerPeer || sl.total >= maxServing {
		return false
	}
	if sl.peers == nil {
		sl.peers = make(map[peer.ID]int)
	}
	sl.peers[p]++
	sl.total++
	return true
}

func (sl *servingSlots) done(p peer.ID) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.peers[p]--; sl.peers[p] <= 0 {
		delete(sl.peers, p)
	}
	sl.total--
}

func (t *Transport) loadResponse(h int64) *p2ppb.BlockResponse {
	missing := &p2ppb.BlockResponse{Height: h, Missing: true}
	src := t.cfg.Source
	if src == nil || h < src.Base() || h > src.Height() {
		return missing
	}
	block, err := src.LoadBlock(h)
	if err != nil || block == nil {
		return missing
	}
	if ec, err := src.LoadExtendedCommit(h); err == nil {
		return &p2ppb.BlockResponse{Height: h, Block: block.ToProto(), ExtCommit: ec.ToProto()}
	}
	var commit *types.Commit
	if h < src.Height() {
		commit, err = src.LoadBlockCommit(h)
	} else {
		commit, err = src.LoadSeenCommit(h)
	}
	if err != nil || commit == nil {
		return missing
	}
	return &p2ppb.BlockResponse{Height: h, Block: block.ToProto(), Commit: commit.ToProto()}
}

// fetchBlocks requests from..to from p and returns the verified prefix of
// the answer, with an error for whatever went wrong after it. It stops
// reading once the blocks read reach budget bytes (always reading one), so
// the caller asks again for the rest.
func (t *Transport) fetchBlocks(ctx context.Context, p peer.ID, from, to int64, budget int) ([]syncedBlock, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := t.host.NewStream(ctx, p, ProtocolBlockSync)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	f, err := encodeFrame(&p2ppb.BlockRequest{FromHeight: from, ToHeight: to})
	if err != nil {
		return nil, err
	}
	if _, err := s.Write(f); err != nil {
		return nil, err
	}
	t.stats.sent(KindBlockSync, len(f))
	_ = s.CloseWrite()
	r := bufio.NewReaderSize(s, 256<<10)
	var out []syncedBlock
	read := 0
	for h := from; h <= to && read < budget; h++ {
		payload, n, err := readFrame(r, t.cfg.maxSyncFrame())
		if err != nil {
			return out, err
		}
		t.stats.recv(KindBlockSync, n)
		msg, err := t.decodeBlockResponse(payload, h)
		if err != nil {
			return out, err
		}
		out = append(out, syncedBlock{msg: msg, from: p, size: n})
		read += n
	}
	if int64(len(out)) <= to-from {
		_ = s.Reset() // stopped early: the server stops writing at once
	}
	return out, nil
}

func (t *Transport) decodeBlockResponse(payload []byte, h int64) (msgs.CommitMsg, error) {
	var resp p2ppb.BlockResponse
	if err := decodeFrame(payload, &resp); err != nil {
		return msgs.CommitMsg{}, err
	}
	if resp.Height != h {
		return msgs.CommitMsg{}, fmt.Errorf("%w: response for height %d, want %d", errOutOfRange, resp.Height, h)
	}
	if resp.Missing {
		return msgs.CommitMsg{}, fmt.Errorf("%w: height %d", errMissing, h)
	}
	if resp.Block == nil || (resp.Commit == nil) == (resp.ExtCommit == nil) {
		return msgs.CommitMsg{}, fmt.Errorf("%w: height %d without a block, or without exactly one of commit and extended commit", ErrBadFrame, h)
	}
	block, err := types.BlockFromProto(resp.Block)
	if err != nil {
		return msgs.CommitMsg{}, fmt.Errorf("%w: block %d: %w", ErrBadFrame, h, err)
	}
	var commit *types.Commit
	var extended *types.ExtendedCommit
	if resp.ExtCommit != nil {
		extended, err = types.ExtendedCommitFromProto(resp.ExtCommit)
		if err == nil {
			commit = extended.Commit
		}
	} else {
		commit, err = types.CommitFromProto(resp.Commit)
	}
	if err != nil {
		return msgs.CommitMsg{}, fmt.Errorf("%w: commit %d: %w", ErrBadFrame, h, err)
	}
	if err := t.checkBlock(block, h); err != nil {
		return msgs.CommitMsg{}, err
	}
	if commit.Height != h || commit.BlockID.Hash != block.Hash() {
		return msgs.CommitMsg{}, fmt.Errorf("%w: commit for %d/%X does not match block %d", errOutOfRange, commit.Height, commit.BlockID.Hash[:6], h)
	}
	// The heights whose validator set is known (the one being decided and
	// the next) have their commit checked here, so a forged one costs its
	// sender before the engine sees it.
	if vals := t.vsets.at(h); vals != nil {
		if err := vals.VerifyCommit(t.cfg.ChainID, commit.BlockID, h, commit); err != nil {
			return msgs.CommitMsg{}, fmt.Errorf("%w: height %d: %w", errBadCommit, h, err)
		}
	}
	return msgs.CommitMsg{Block: block, Commit: commit, Extended: extended}, nil
}
