package abcisocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/bftnode/bftnode/app"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// ErrUnknownRequest is reported (in a ResponseException) for a request with
// no known value.
var ErrUnknownRequest = errors.New("unknown abci request")

// Server serves an Application to ABCI socket clients.
type Server struct {
	App app.Application
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// MaxMessageSize bounds a request; 0 means DefaultMaxMessageSize.
	MaxMessageSize int
}

// ListenAndServe serves application on addr (tcp://host:port or
// unix:///path) until ctx is done.
func ListenAndServe(ctx context.Context, addr string, application app.Application) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return (&Server{App: application}).Serve(ctx, ln)
}

// Serve accepts connections on ln and answers their requests until ctx is
// done, then closes ln and every connection, waits for their handlers and
// returns nil. It returns early with the error if accepting fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxSize := s.MaxMessageSize
	if maxSize == 0 {
		maxSize = DefaultMaxMessageSize
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			ln.Close()
			return fmt.Errorf("abci server: accept: %w", err)
		}
		log.Debug("abci connection opened", "remote", nc.RemoteAddr())
		wg.Go(func() {
			closeOnDone := context.AfterFunc(ctx, func() { nc.Close() })
			defer closeOnDone()
			defer nc.Close()
			if err := s.serveConn(ctx, nc, maxSize); err != nil && ctx.Err() == nil {
				log.Warn("abci connection dropped: the client sent what is not an ABCI request, or the connection failed",
					"remote", nc.RemoteAddr(), "err", err)
				return
			}
			log.Debug("abci connection closed", "remote", nc.RemoteAddr())
		})
	}
}

// serveConn answers the requests of one connection in order. Responses are
// buffered and sent on a Flush request, or whenever no further request is
// already waiting, so a client that never flushes is still answered.
func (s *Server) serveConn(ctx context.Context, nc net.Conn, maxSize int) error {
	r := bufio.NewReader(nc)
	w := bufio.NewWriter(nc)
	for {
		var req abci.Request
		if err := ReadMessage(r, &req, maxSize); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := WriteMessage(w, s.handle(ctx, &req)); err != nil {
			return err
		}
		if _, flush := req.Value.(*abci.Request_Flush); flush || r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

// handle calls the application method that req names. An application error
// becomes a ResponseException.
func (s *Server) handle(ctx context.Context, req *abci.Request) *abci.Response {
	res, err := s.dispatch(ctx, req)
	if err != nil {
		return &abci.Response{Value: &abci.Response_Exception{Exception: &abci.ResponseException{Error: err.Error()}}}
	}
	return res
}

func (s *Server) dispatch(ctx context.Context, req *abci.Request) (*abci.Response, error) {
	a := s.App
	switch v := req.Value.(type) {
	case *abci.Request_Echo:
		return &abci.Response{Value: &abci.Response_Echo{Echo: &abci.ResponseEcho{Message: v.Echo.Message}}}, nil
	case *abci.Request_Flush:
		return &abci.Response{Value: &abci.Response_Flush{Flush: &abci.ResponseFlush{}}}, nil
	case *abci.Request_Info:
		r, err := a.Info(ctx, v.Info)
		return &abci.Response{Value: &abci.Response_Info{Info: r}}, err
	case *abci.Request_Query:
		r, err := a.Query(ctx, v.Query)
		return &abci.Response{Value: &abci.Response_Query{Query: r}}, err
	case *abci.Request_CheckTx:
		r, err := a.CheckTx(ctx, v.CheckTx)
		return &abci.Response{Value: &abci.Response_CheckTx{CheckTx: r}}, err
	case *abci.Request_InitChain:
		r, err := a.InitChain(ctx, v.InitChain)
		return &abci.Response{Value: &abci.Response_InitChain{InitChain: r}}, err
	case *abci.Request_PrepareProposal:
		r, err := a.PrepareProposal(ctx, v.PrepareProposal)
		return &abci.Response{Value: &abci.Response_PrepareProposal{PrepareProposal: r}}, err
	case *abci.Request_ProcessProposal:
		r, err := a.ProcessProposal(ctx, v.ProcessProposal)
		return &abci.Response{Value: &abci.Response_ProcessProposal{ProcessProposal: r}}, err
	case *abci.Request_FinalizeBlock:
		r, err := a.FinalizeBlock(ctx, v.FinalizeBlock)
		return &abci.Response{Value: &abci.Response_FinalizeBlock{FinalizeBlock: r}}, err
	case *abci.Request_ExtendVote:
		r, err := a.ExtendVote(ctx, v.ExtendVote)
		return &abci.Response{Value: &abci.Response_ExtendVote{ExtendVote: r}}, err
	case *abci.Request_VerifyVoteExtension:
		r, err := a.VerifyVoteExtension(ctx, v.VerifyVoteExtension)
		return &abci.Response{Value: &abci.Response_VerifyVoteExtension{VerifyVoteExtension: r}}, err
	case *abci.Request_Commit:
		r, err := a.Commit(ctx, v.Commit)
		return &abci.Response{Value: &abci.Response_Commit{Commit: r}}, err
	case *abci.Request_ListSnapshots:
		r, err := a.ListSnapshots(ctx, v.ListSnapshots)
		return &abci.Response{Value: &abci.Response_ListSnapshots{ListSnapshots: r}}, err
	case *abci.Request_OfferSnapshot:
		r, err := a.OfferSnapshot(ctx, v.OfferSnapshot)
		return &abci.Response{Value: &abci.Response_OfferSnapshot{OfferSnapshot: r}}, err
	case *abci.Request_LoadSnapshotChunk:
		r, err := a.LoadSnapshotChunk(ctx, v.LoadSnapshotChunk)
		return &abci.Response{Value: &abci.Response_LoadSnapshotChunk{LoadSnapshotChunk: r}}, err
	case *abci.Request_ApplySnapshotChunk:
		r, err := a.ApplySnapshotChunk(ctx, v.ApplySnapshotChunk)
		return &abci.Response{Value: &abci.Response_ApplySnapshotChunk{ApplySnapshotChunk: r}}, err
	case *abci.Request_InsertTx:
		r, err := a.InsertTx(ctx, v.InsertTx)
		return &abci.Response{Value: &abci.Response_InsertTx{InsertTx: r}}, err
	case *abci.Request_ReapTxs:
		r, err := a.ReapTxs(ctx, v.ReapTxs)
		return &abci.Response{Value: &abci.Response_ReapTxs{ReapTxs: r}}, err
	default:
		return nil, fmt.Errorf("%w: not one of the ABCI methods of CometBFT v0.40 this server answers", ErrUnknownRequest)
	}
}
