package privval

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftnode/bftnode/internal/diskfs"
	privvalpb "github.com/bftnode/bftnode/proto/tendermint/privval"
	"github.com/bftnode/bftnode/types"
)

func isSign(req *privvalpb.Message) bool {
	switch req.Sum.(type) {
	case *privvalpb.Message_SignVoteRequest, *privvalpb.Message_SignProposalRequest:
		return true
	}
	return false
}

func TestRemoteSignsVotesAndProposalsBehindTheGuard(t *testing.T) {
	rs, f, p := listenRemote(t, RemoteOptions{}, nil)
	if !rs.PubKey().Equal(f.pv.PubKey()) || rs.Address() != f.pv.Address() {
		t.Fatalf("the node took key %X, the signer's is %X", []byte(rs.PubKey()), []byte(f.pv.PubKey()))
	}
	v := vote(rs, types.PrevoteType, 3, 0, "a", t0)
	ran := false
	if err := rs.SignVoteAlongside(chainID, v, func() error {
		ran = len(v.Signature) == ed25519.SignatureSize
		return nil
	}); err != nil {
		t.Fatalf("SignVoteAlongside: %v", err)
	}
	if !ran {
		t.Fatal("alongside did not run with the signed vote")
	}
	if !ed25519.Verify(f.pv.PubKey(), types.VoteSignBytes(chainID, v), v.Signature) {
		t.Fatal("the vote's signature does not verify")
	}
	// The node's own guard answers what it has signed, and refuses
	// conflicts, without asking the signer.
	asked := f.signs.Load()
	again := vote(rs, types.PrevoteType, 3, 0, "a", t0)
	if err := rs.SignVote(chainID, again); err != nil || !bytes.Equal(again.Signature, v.Signature) {
		t.Fatalf("re-signing a signed vote: %v", err)
	}
	prop := &types.Proposal{Height: 3, Round: 1, POLRound: 0, BlockID: blockID("b"), Timestamp: t0}
	if err := rs.SignProposal(chainID, prop); err != nil {
		t.Fatalf("SignProposal: %v", err)
	}
	if !ed25519.Verify(f.pv.PubKey(), types.ProposalSignBytes(chainID, prop), prop.Signature) {
		t.Fatal("the proposal's signature does not verify")
	}
	asked++
	if err := rs.SignVote(chainID, vote(rs, types.PrevoteType, 3, 2, "c", t0)); err != nil {
		t.Fatalf("a vote above the last signed: %v", err)
	}
	asked++
	for name, v := range map[string]*types.Vote{
		"another block at the same step": vote(rs, types.PrevoteType, 3, 2, "d", t0),
		"a step below the last signed":   vote(rs, types.PrecommitType, 3, 1, "c", t0),
	} {
		if err := rs.SignVote(chainID, v); !errors.Is(err, ErrDoubleSign) {
			t.Fatalf("%s: got %v, want ErrDoubleSign", name, err)
		}
	}
	if got := f.signs.Load(); got != asked {
		t.Fatalf("the signer got %d sign requests, want %d: the node's guard must answer repeats and refusals itself", got, asked)
	}
	_, saved, err := openState(diskfs.OS, p.state)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := saved.hrs(), (HRS{3, 2, StepPrevote}); got != want {
		t.Fatalf("the node's state file holds %s, want %s", got, want)
	}
}

// TestRemoteRefusalSignsNothing: the signer's own guard refuses (it has
// signed past the request), with a RemoteSignerError; the node gets an
// error naming it, runs nothing alongside, saves nothing.
func TestRemoteRefusalSignsNothing(t *testing.T) {
	rs, f, p := listenRemote(t, RemoteOptions{}, nil)
	if err := f.pv.SignVote(chainID, vote(f.pv, types.PrecommitType, 9, 0, "a", t0)); err != nil {
		t.Fatal(err)
	}
	v := vote(rs, types.PrevoteType, 5, 0, "a", t0)
	err := rs.SignVoteAlongside(chainID, v, func() error {
		t.Error("alongside ran for a refused vote")
		return nil
	})
	var re *RemoteError
	if !errors.Is(err, ErrRemoteSigner) || !errors.As(err, &re) || !strings.Contains(re.Description, "double-sign") {
		t.Fatalf("got %v, want a RemoteError (ErrRemoteSigner) with the signer's reason", err)
	}
	if v.Signature != nil {
		t.Fatal("a refused vote has a signature")
	}
	if _, saved, _ := openState(diskfs.OS, p.state); saved.Height != 0 {
		t.Fatalf("the node saved %s for a refused vote", saved.hrs())
	}
	// The connection stays: a refusal is an answer.
	if err := rs.SignVote(chainID, vote(rs, types.PrevoteType, 10, 0, "a", t0)); err != nil {
		t.Fatalf("signing after a refusal: %v", err)
	}
	if n := f.conns.Load(); n != 1 {
		t.Fatalf("the signer connected %d times, want 1", n)
	}
}

// TestRemoteFailuresCostOneRequestThenTheSignerIsBack: a signer that does
// not answer, answers with garbage, an oversized frame, the wrong message
// or a bad signature fails that request within the timeout with
// ErrRemoteSigner; the connection is dropped, the signer dials again, and
// the next request is signed.
func TestRemoteFailuresCostOneRequestThenTheSignerIsBack(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for name, misbehave := range map[string]func(req *privvalpb.Message, nc net.Conn){
		"silent":        func(*privvalpb.Message, net.Conn) {},
		"garbage":       func(_ *privvalpb.Message, nc net.Conn) { _, _ = nc.Write([]byte{0x05, 0xff, 0xff, 0xff, 0xff, 0xff}) },
		"huge frame":    func(_ *privvalpb.Message, nc net.Conn) { _, _ = nc.Write([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}) },
		"overlong size": func(_ *privvalpb.Message, nc net.Conn) { _, _ = nc.Write(bytes.Repeat([]byte{0xff}, 11)) },
		"wrong answer": func(_ *privvalpb.Message, nc net.Conn) {
			_ = writeMsg(nc, &privvalpb.Message{Sum: &privvalpb.Message_PingResponse{PingResponse: &privvalpb.PingResponse{}}})
		},
		"bad signature": func(req *privvalpb.Message, nc net.Conn) {
			pb := *req.GetSignVoteRequest().Vote
			pb.Signature = make([]byte, ed25519.SignatureSize)
			_ = writeMsg(nc, &privvalpb.Message{Sum: &privvalpb.Message_SignedVoteResponse{SignedVoteResponse: &privvalpb.SignedVoteResponse{Vote: pb}}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			var bad atomic.Bool
			bad.Store(true)
			rs, f, _ := listenRemote(t, RemoteOptions{Timeout: timeout, PingInterval: time.Hour}, func(req *privvalpb.Message, nc net.Conn) bool {
				if isSign(req) && bad.Swap(false) {
					misbehave(req, nc)
					return true
				}
				return false
			})
			began := time.Now()
			v := vote(rs, types.PrevoteType, 1, 0, "a", t0)
			err := rs.SignVote(chainID, v)
			if !errors.Is(err, ErrRemoteSigner) || v.Signature != nil {
				t.Fatalf("got %v (signature %x), want ErrRemoteSigner and no signature", err, v.Signature)
			}
			if took := time.Since(began); took > 10*timeout {
				t.Fatalf("the failed request took %v, timeout %v", took, timeout)
			}
			t.Logf("%s: %v", name, err)
			waitFor(t, "the signer to be admitted again", func() bool { return joins(rs) == 2 && connected(rs) == 1 })
			if err := rs.SignVote(chainID, vote(rs, types.PrevoteType, 1, 0, "a", t0)); err != nil {
				t.Fatalf("signing once the signer is back: %v", err)
			}
			if n := f.conns.Load(); n != 2 {
				t.Fatalf("the signer connected %d times, want 2", n)
			}
		})
	}
}

// joins is the number of signer connections the node has admitted.
func joins(rs *RemoteSigner) int {
	rs.ep.mu.Lock()
	defer rs.ep.mu.Unlock()
	return rs.ep.joins
}

// connected is the number of signer connections the node holds.
func connected(rs *RemoteSigner) int {
	rs.ep.mu.Lock()
	defer rs.ep.mu.Unlock()
	return len(rs.ep.conns)
}

// TestRemoteIdleConnectionIsPinged: an idle connection gets pings, which
// CometBFT's signers need to keep it.
func TestRemoteIdleConnectionIsPinged(t *testing.T) {
	_, f, _ := listenRemote(t, RemoteOptions{PingInterval: 20 * time.Millisecond}, nil)
	waitFor(t, "three pings", func() bool { return f.pings.Load() >= 3 })
	if n := f.conns.Load(); n != 1 {
		t.Fatalf("the signer connected %d times, want 1", n)
	}
}

// TestRemoteSignerThatRestartsIsAcceptedAgain: the signer's connection
// ends (it was killed, say); requests fail fast until it dials again, then
// succeed, and what the node signed before is still guarded.
func TestRemoteSignerThatRestartsIsAcceptedAgain(t *testing.T) {
	rs, f, _ := listenRemote(t, RemoteOptions{PingInterval: 20 * time.Millisecond}, nil)
	if err := rs.SignVote(chainID, vote(rs, types.PrevoteType, 1, 0, "a", t0)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.disconnect()
		waitFor(t, "the signer to be back", func() bool { return joins(rs) == i+2 })
		if err := rs.SignVote(chainID, vote(rs, types.PrecommitType, int64(i+1), 0, "a", t0)); err != nil {
			t.Fatalf("after reconnection %d: %v", i+1, err)
		}
	}
	if err := rs.SignVote(chainID, vote(rs, types.PrevoteType, 1, 0, "b", t0)); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("a conflicting vote after reconnections: got %v, want ErrDoubleSign", err)
	}
}

// TestRemoteRequestMovesOffADeadConnection: two signers with the validator's
// key are connected (as horcrux's cosigners may be); the newest one's
// connection dies; the next request, sent there first, is answered by the
// other one within the same request.
func TestRemoteRequestMovesOffADeadConnection(t *testing.T) {
	rs, f, _ := listenRemote(t, RemoteOptions{PingInterval: time.Hour}, nil)
	second := newFakeSigner(t, rs.ep.addr, f.pv, nil)
	waitFor(t, "the second signer to be admitted", func() bool { return joins(rs) == 2 })
	second.shutdown()
	v := vote(rs, types.PrevoteType, 1, 0, "a", t0)
	if err := rs.SignVote(chainID, v); err != nil {
		t.Fatalf("SignVote with the newest connection dead: %v", err)
	}
	if f.signs.Load() != 1 || second.signs.Load() != 0 || connected(rs) != 1 {
		t.Fatalf("sign requests: first signer %d, second %d; connections held %d; want 1, 0, 1",
			f.signs.Load(), second.signs.Load(), connected(rs))
	}
}

// TestRemoteSignerWithAnotherKeyIsNotAdmitted: a second signer with a
// different key is turned away; the first keeps signing.
func TestRemoteSignerWithAnotherKeyIsNotAdmitted(t *testing.T) {
	rs, f, _ := listenRemote(t, RemoteOptions{}, nil)
	other := newFakeSigner(t, rs.ep.addr, nil, nil)
	waitFor(t, "the other signer to be turned away", func() bool { return other.conns.Load() >= 2 })
	if n := connected(rs); n != 1 {
		t.Fatalf("the node holds %d signer connections, want 1", n)
	}
	v := vote(rs, types.PrevoteType, 1, 0, "a", t0)
	if err := rs.SignVote(chainID, v); err != nil || !ed25519.Verify(f.pv.PubKey(), types.VoteSignBytes(chainID, v), v.Signature) {
		t.Fatalf("signing with the right signer: %v", err)
	}
}

// TestRemoteAnswerWithTheSignedTimestamp: a signer that signed the same
// vote before with another timestamp answers with that one (CometBFT's
// FilePV does); the node takes the signature and the timestamp.
func TestRemoteAnswerWithTheSignedTimestamp(t *testing.T) {
	rs, f, _ := listenRemote(t, RemoteOptions{}, nil)
	if err := f.pv.SignVote(chainID, vote(f.pv, types.PrevoteType, 4, 0, "a", t0)); err != nil {
		t.Fatal(err)
	}
	v := vote(rs, types.PrevoteType, 4, 0, "a", t0.Add(time.Second))
	if err := rs.SignVote(chainID, v); err != nil {
		t.Fatal(err)
	}
	if !v.Timestamp.Equal(t0) || !ed25519.Verify(f.pv.PubKey(), types.VoteSignBytes(chainID, v), v.Signature) {
		t.Fatalf("got timestamp %v, want the signed %v with a valid signature", v.Timestamp, t0)
	}
}

// TestRemoteListenWaitsForTheSignerUntilTheContextEnds: with no signer,
// ListenRemote returns once its context ends, saying what it waited for.
func TestRemoteListenWaitsForTheSignerUntilTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	laddr := "unix://" + filepath.Join(t.TempDir(), "signer.sock")
	_, err := ListenRemote(ctx, laddr, chainID, newPaths(t).state, RemoteOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no remote signer connected to "+laddr) {
		t.Fatalf("got %v, want a context error naming the address", err)
	}
}

// TestRemoteListensOnASocketLeftByAKilledNode: a socket file that nothing
// listens on (its node was killed) is replaced; a live one is not.
func TestRemoteListensOnASocketLeftByAKilledNode(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "signer.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenRemote(t.Context(), "unix://"+sock, chainID, newPaths(t).state, RemoteOptions{}); err == nil || !strings.Contains(err.Error(), "listening") {
		t.Fatalf("listening on a socket in use: got %v, want an error", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = ln.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("the closed listener's socket file should remain: %v", err)
	}
	rs, _, _ := listenRemoteAt(t, "unix://"+sock, RemoteOptions{}, nil)
	if err := rs.SignVote(chainID, vote(rs, types.PrevoteType, 1, 0, "a", t0)); err != nil {
		t.Fatal(err)
	}
}
