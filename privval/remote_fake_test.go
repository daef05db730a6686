package privval

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	cryptopb "github.com/bftnode/bftnode/proto/tendermint/crypto"
	privvalpb "github.com/bftnode/bftnode/proto/tendermint/privval"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// fakeSigner is a remote signer for tests: it dials the node's socket (and
// dials again whenever its connection ends, until the test ends) and
// answers with a FilePV of its own, as CometBFT's SignerServer does, unless
// misbehave takes over a request.
type fakeSigner struct {
	pv   *FilePV
	addr string // tcp://host:port (a SecretConnection inside) or unix:///path
	// misbehave, when set, sees every request first; returning true means
	// it dealt with the request itself (answered, or not) on nc.
	misbehave func(req *privvalpb.Message, nc net.Conn) bool
	signs     atomic.Int32 // sign requests seen
	pings     atomic.Int32
	conns     atomic.Int32 // connections made
	current   atomic.Pointer[net.Conn]
	stopped   atomic.Bool
}

// newFakeSigner starts a fake signer for the node's address addr that
// signs with pv (nil: a fresh key); it runs until the test ends or it is
// shut down.
func newFakeSigner(t *testing.T, addr string, pv *FilePV, misbehave func(*privvalpb.Message, net.Conn) bool) *fakeSigner {
	t.Helper()
	if pv == nil {
		pv = genPV(t, newPaths(t))
	}
	f := &fakeSigner{pv: pv, addr: addr, misbehave: misbehave}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for t.Context().Err() == nil && !f.stopped.Load() {
			nc, err := f.dial()
			if err != nil {
				select {
				case <-t.Context().Done():
				case <-time.After(10 * time.Millisecond): // the node is not listening yet
				}
				continue
			}
			f.conns.Add(1)
			f.current.Store(&nc)
			f.serve(nc)
		}
	}()
	t.Cleanup(func() {
		if c := f.current.Load(); c != nil {
			_ = (*c).Close()
		}
		<-done
	})
	return f
}

// dial connects to the node, with a SecretConnection over tcp://.
func (f *fakeSigner) dial() (net.Conn, error) {
	network, address, err := SplitListenAddr(f.addr)
	if err != nil {
		return nil, err
	}
	nc, err := net.Dial(network, address)
	if err != nil || network != "tcp" {
		return nc, err
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	sc, err := secretHandshake(nc, key)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return sc, nil
}

// shutdown closes the fake's connection for good.
func (f *fakeSigner) shutdown() {
	f.stopped.Store(true)
	f.disconnect()
}

// disconnect closes the fake's current connection; it dials again.
func (f *fakeSigner) disconnect() {
	if c := f.current.Load(); c != nil {
		_ = (*c).Close()
	}
}

func (f *fakeSigner) serve(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	for {
		var req privvalpb.Message
		if err := readMsg(r, &req); err != nil {
			return
		}
		switch req.Sum.(type) {
		case *privvalpb.Message_PingRequest:
			f.pings.Add(1)
		case *privvalpb.Message_SignVoteRequest, *privvalpb.Message_SignProposalRequest:
			f.signs.Add(1)
		}
		if f.misbehave != nil && f.misbehave(&req, nc) {
			continue
		}
		if err := writeMsg(nc, f.answer(&req)); err != nil {
			return
		}
	}
}

// answer is what CometBFT's SignerServer with a FilePV answers.
func (f *fakeSigner) answer(req *privvalpb.Message) *privvalpb.Message {
	refusal := func(err error) *privvalpb.RemoteSignerError {
		if err == nil {
			return nil
		}
		return &privvalpb.RemoteSignerError{Description: err.Error()}
	}
	switch r := req.Sum.(type) {
	case *privvalpb.Message_PubKeyRequest:
		pk := cryptopb.PublicKey{Sum: &cryptopb.PublicKey_Ed25519{Ed25519: f.pv.PubKey()}}
		return &privvalpb.Message{Sum: &privvalpb.Message_PubKeyResponse{PubKeyResponse: &privvalpb.PubKeyResponse{PubKey: pk}}}
	case *privvalpb.Message_PingRequest:
		return &privvalpb.Message{Sum: &privvalpb.Message_PingResponse{PingResponse: &privvalpb.PingResponse{}}}
	case *privvalpb.Message_SignVoteRequest:
		pb := *r.SignVoteRequest.Vote
		v := voteFromProto(&pb)
		err := f.pv.SignVote(r.SignVoteRequest.ChainId, v)
		pb.Signature, pb.Timestamp = v.Signature, v.Timestamp
		return &privvalpb.Message{Sum: &privvalpb.Message_SignedVoteResponse{SignedVoteResponse: &privvalpb.SignedVoteResponse{Vote: pb, Error: refusal(err)}}}
	case *privvalpb.Message_SignProposalRequest:
		pb := *r.SignProposalRequest.Proposal
		p := &types.Proposal{Height: pb.Height, Round: pb.Round, POLRound: pb.PolRound, BlockID: blockIDFromProto(pb.BlockID), Timestamp: pb.Timestamp}
		err := f.pv.SignProposal(r.SignProposalRequest.ChainId, p)
		pb.Signature, pb.Timestamp = p.Signature, p.Timestamp
		return &privvalpb.Message{Sum: &privvalpb.Message_SignedProposalResponse{SignedProposalResponse: &privvalpb.SignedProposalResponse{Proposal: pb, Error: refusal(err)}}}
	}
	return &privvalpb.Message{}
}

func blockIDFromProto(pb tmtypes.BlockID) types.BlockID {
	var id types.BlockID
	copy(id.Hash[:], pb.Hash)
	id.PartSetHeader.Total = pb.PartSetHeader.Total
	copy(id.PartSetHeader.Hash[:], pb.PartSetHeader.Hash)
	return id
}

func voteFromProto(pb *tmtypes.Vote) *types.Vote {
	v := &types.Vote{Type: types.SignedMsgType(pb.Type), Height: pb.Height, Round: pb.Round, BlockID: blockIDFromProto(pb.BlockID),
		Timestamp: pb.Timestamp, ValidatorIndex: pb.ValidatorIndex}
	copy(v.ValidatorAddress[:], pb.ValidatorAddress)
	return v
}

// listenRemote starts a RemoteSigner on a fresh unix socket with a fake
// signer behind it, and waits for the fake to be admitted.
func listenRemote(t *testing.T, opts RemoteOptions, misbehave func(*privvalpb.Message, net.Conn) bool) (*RemoteSigner, *fakeSigner, paths) {
	t.Helper()
	return listenRemoteAt(t, "unix://"+filepath.Join(t.TempDir(), "signer.sock"), opts, misbehave)
}

// listenRemoteAt is listenRemote on the address laddr.
func listenRemoteAt(t *testing.T, laddr string, opts RemoteOptions, misbehave func(*privvalpb.Message, net.Conn) bool) (*RemoteSigner, *fakeSigner, paths) {
	t.Helper()
	p := newPaths(t)
	if err := os.MkdirAll(filepath.Dir(p.state), 0o700); err != nil {
		t.Fatal(err)
	}
	f := newFakeSigner(t, laddr, nil, misbehave)
	rs, err := ListenRemote(t.Context(), laddr, chainID, p.state, opts)
	if err != nil {
		t.Fatalf("ListenRemote: %v", err)
	}
	t.Cleanup(func() {
		if err := rs.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return rs, f, p
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
