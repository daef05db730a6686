package rpc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bftnode/bftnode/eventbus"
	"github.com/bftnode/bftnode/eventbus/query"
)

// ErrTxCommitTimeout is returned by broadcast_tx_commit when the tx is not
// committed within Config.TimeoutBroadcastTxCommit.
var ErrTxCommitTimeout = errors.New("timed out waiting for tx to be included in a block")

func (s *Server) checkTx(ctx context.Context, a *args) (any, error) {
	tx, err := a.Bytes("tx", true)
	if err != nil {
		return nil, err
	}
	r, err := s.backend.CheckTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	return viewCheckTx(r), nil
}

type resultBroadcastTx struct {
	Code      uint32   `json:"code"`
	Data      hexBytes `json:"data"`
	Log       string   `json:"log"`
	Codespace string   `json:"codespace"`
	Hash      hexBytes `json:"hash"`
}

func (s *Server) broadcastTxAsync(ctx context.Context, a *args) (any, error) {
	tx, err := a.Bytes("tx", true)
	if err != nil {
		return nil, err
	}
	// A full mempool refuses at once, as CometBFT's does, so that a client
	// sees errors and backs off. The room is reserved for this tx, so that
	// a tx answered OK is never dropped for lack of room by the background
	// CheckTx; it may still be refused by the application (or be a
	// duplicate), which the client sees in its absence from blocks.
	rsv, err := s.backend.ReserveMempool(len(tx))
	if err != nil {
		return nil, err
	}
	// Take a slot before answering, so that a flood of async txs is slowed
	// down here instead of piling up goroutines.
	select {
	case s.asyncSlots <- struct{}{}:
	case <-ctx.Done():
		rsv.Release()
		return nil, ctx.Err()
	}
	s.async.Add(1)
	go func() {
		defer func() { <-s.asyncSlots; s.async.Done() }()
		ctx, cancel := context.WithTimeout(s.bgCtx, s.cfg.TimeoutBroadcastTxCommit)
		defer cancel()
		if _, err := rsv.BroadcastTx(ctx, tx); err != nil {
			s.logger.Debug("async broadcast failed", "err", err)
		}
	}()
	h := sha256.Sum256(tx)
	return resultBroadcastTx{Data: hexBytes{}, Hash: hexBytes(h[:])}, nil
}

func (s *Server) broadcastTxSync(ctx context.Context, a *args) (any, error) {
	tx, err := a.Bytes("tx", true)
	if err != nil {
		return nil, err
	}
	r, err := s.backend.BroadcastTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(tx)
	return resultBroadcastTx{Code: r.Code, Data: hexBytes(r.Data), Log: r.Log, Codespace: r.Codespace, Hash: hexBytes(h[:])}, nil
}

type resultBroadcastTxCommit struct {
	CheckTx  txResultView `json:"check_tx"`
	TxResult txResultView `json:"tx_result"`
	Hash     hexBytes     `json:"hash"`
	Height   int64s       `json:"height"`
}

func (s *Server) broadcastTxCommit(ctx context.Context, a *args) (any, error) {
	tx, err := a.Bytes("tx", true)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(tx)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TimeoutBroadcastTxCommit)
	defer cancel()
	// Subscribe before submitting, so that the commit cannot be missed.
	q, err := query.Parse(fmt.Sprintf("%s='%s' AND %s='%X'", eventbus.KeyEvent, eventbus.EventTx, eventbus.KeyTxHash, h[:]))
	if err != nil {
		return nil, err
	}
	events, err := s.backend.Subscribe(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("subscribe to tx commit: %w", err)
	}
	check, err := s.backend.BroadcastTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	out := resultBroadcastTxCommit{CheckTx: viewCheckTx(check), TxResult: viewExecTxResult(nil), Hash: hexBytes(h[:])}
	if check.Code != 0 {
		return out, nil
	}
	select {
	case ev, ok := <-events:
		if !ok || ev.Tx == nil {
			return nil, fmt.Errorf("tx commit subscription was cancelled")
		}
		out.TxResult, out.Height = viewExecTxResult(ev.Tx.Result), int64s(ev.Tx.Height)
		return out, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (%v)", ErrTxCommitTimeout, s.cfg.TimeoutBroadcastTxCommit)
	}
}

func (s *Server) tx(ctx context.Context, a *args) (any, error) {
	hash, err := a.Hash("hash")
	if err != nil {
		return nil, err
	}
	if _, err := a.Bool("prove", false); err != nil {
		return nil, err
	}
	r, err := s.backend.Tx(ctx, hash)
	if err != nil {
		return nil, err
	}
	return viewTx(r), nil
}

// searchArgs reads the query and the order of a search.
func (s *Server) searchArgs(a *args) (*query.Query, bool, error) {
	qs, err := a.String("query", "")
	if err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(qs) == "" {
		return nil, false, badParam("query", "missing")
	}
	if len(qs) > s.cfg.MaxQueryLength {
		return nil, false, badParam("query", "longer than %d bytes", s.cfg.MaxQueryLength)
	}
	q, err := query.Parse(qs)
	if err != nil {
		return nil, false, badParam("query", "%v", err)
	}
	order, err := a.String("order_by", "asc")
	if err != nil {
		return nil, false, err
	}
	switch order {
	case "asc", "":
		return q, false, nil
	case "desc":
		return q, true, nil
	}
	return nil, false, badParam("order_by", `expected "asc" or "desc", got %q`, order)
}

type resultTxSearch struct {
	Txs        []resultTx `json:"txs"`
	TotalCount int64s     `json:"total_count"`
}

func (s *Server) txSearch(ctx context.Context, a *args) (any, error) {
	q, desc, err := s.searchArgs(a)
	if err != nil {
		return nil, err
	}
	if _, err := a.Bool("prove", false); err != nil {
		return nil, err
	}
	found, err := s.backend.TxSearch(ctx, q)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(found, func(i, j int) bool {
		x, y := found[i], found[j]
		if x.Height != y.Height {
			return (x.Height < y.Height) != desc
		}
		return (x.Index < y.Index) != desc
	})
	lo, hi, err := paginate(a, len(found))
	if err != nil {
		return nil, err
	}
	out := resultTxSearch{Txs: []resultTx{}, TotalCount: int64s(len(found))}
	for _, r := range found[lo:hi] {
		out.Txs = append(out.Txs, viewTx(r))
	}
	return out, nil
}

type resultBlockSearch struct {
	Blocks     []resultBlock `json:"blocks"`
	TotalCount int64s        `json:"total_count"`
}

func (s *Server) blockSearch(ctx context.Context, a *args) (any, error) {
	q, desc, err := s.searchArgs(a)
	if err != nil {
		return nil, err
	}
	heights, err := s.backend.BlockSearch(ctx, q)
	if err != nil {
		return nil, err
	}
	sort.Slice(heights, func(i, j int) bool { return (heights[i] < heights[j]) != desc })
	lo, hi, err := paginate(a, len(heights))
	if err != nil {
		return nil, err
	}
	out := resultBlockSearch{Blocks: []resultBlock{}, TotalCount: int64s(len(heights))}
	for _, h := range heights[lo:hi] {
		b, id, err := s.backend.Block(ctx, h)
		if err != nil {
			return nil, err
		}
		out.Blocks = append(out.Blocks, resultBlock{BlockID: viewBlockID(id), Block: viewBlock(b)})
	}
	return out, nil
}

type resultUnconfirmedTxs struct {
	Count      int64s   `json:"n_txs"`
	Total      int64s   `json:"total"`
	TotalBytes int64s   `json:"total_bytes"`
	Txs        [][]byte `json:"txs"`
}

func (s *Server) unconfirmedTxs(ctx context.Context, a *args) (any, error) {
	limit, err := a.Int64("limit", defaultPerPage)
	if err != nil {
		return nil, err
	}
	if limit < 1 {
		limit = defaultPerPage
	}
	limit = min(limit, maxPerPage)
	u, err := s.backend.UnconfirmedTxs(ctx, int(limit))
	if err != nil {
		return nil, err
	}
	txs := u.Txs
	if len(txs) > int(limit) {
		txs = txs[:limit]
	}
	if txs == nil {
		txs = [][]byte{}
	}
	return resultUnconfirmedTxs{Count: int64s(len(txs)), Total: int64s(u.Total), TotalBytes: int64s(u.TotalBytes), Txs: txs}, nil
}

func (s *Server) numUnconfirmedTxs(ctx context.Context, _ *args) (any, error) {
	u, err := s.backend.UnconfirmedTxs(ctx, 1)
	if err != nil {
		return nil, err
	}
	return resultUnconfirmedTxs{Count: int64s(u.Total), Total: int64s(u.Total), TotalBytes: int64s(u.TotalBytes)}, nil
}
