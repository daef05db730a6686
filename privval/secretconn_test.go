package privval

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftnode/bftnode/internal/testport"
	privvalpb "github.com/bftnode/bftnode/proto/tendermint/privval"
	"github.com/bftnode/bftnode/types"
)

// ports for this package's tests (see testport).
var ports = testport.New(32000, 32500)

// TestRemoteOverTCPSignsInsideASecretConnection: over tcp:// the signer
// connects through a SecretConnection and signs as over unix://; garbage
// inside the connection (a frame that does not open) drops it, and the
// signer is admitted again.
func TestRemoteOverTCPSignsInsideASecretConnection(t *testing.T) {
	var corrupt atomic.Bool
	rs, f, _ := listenRemoteAt(t, fmt.Sprintf("tcp://127.0.0.1:%d", ports.Free(t)), RemoteOptions{Timeout: time.Second, PingInterval: time.Hour},
		func(req *privvalpb.Message, nc net.Conn) bool {
			if isSign(req) && corrupt.Swap(false) {
				// Bytes that are not a sealed frame, under the encryption.
				_, _ = nc.(*secretConn).Conn.Write(bytes.Repeat([]byte{0xAA}, scSealedFrame))
				return true
			}
			return false
		})
	v := vote(rs, types.PrecommitType, 2, 0, "a", t0)
	if err := rs.SignVote(chainID, v); err != nil || !ed25519.Verify(f.pv.PubKey(), types.VoteSignBytes(chainID, v), v.Signature) {
		t.Fatalf("SignVote over tcp: %v", err)
	}
	corrupt.Store(true)
	err := rs.SignVote(chainID, vote(rs, types.PrecommitType, 3, 0, "a", t0))
	if !errors.Is(err, ErrRemoteSigner) || !errors.Is(err, errGarbage) {
		t.Fatalf("a frame that does not open: got %v, want ErrRemoteSigner (garbage)", err)
	}
	waitFor(t, "the signer to be admitted again", func() bool { return joins(rs) == 2 && connected(rs) == 1 })
	if err := rs.SignVote(chainID, vote(rs, types.PrecommitType, 3, 0, "a", t0)); err != nil {
		t.Fatalf("after reconnecting: %v", err)
	}
}

// TestSecretConnectionCarriesLargeWritesBothWays: data larger than a frame
// arrives whole in both directions, and each side learns the other's key.
func TestSecretConnectionCarriesLargeWritesBothWays(t *testing.T) {
	a, b := net.Pipe()
	_, ka, _ := ed25519.GenerateKey(nil)
	_, kb, _ := ed25519.GenerateKey(nil)
	var sb *secretConn
	errB := make(chan error, 1)
	go func() {
		var err error
		sb, err = secretHandshake(b, kb)
		errB <- err
	}()
	sa, err := secretHandshake(a, ka)
	if err := errors.Join(err, <-errB); err != nil {
		t.Fatal(err)
	}
	if !sa.remote.Equal(kb.Public()) || !sb.remote.Equal(ka.Public()) {
		t.Fatal("a side did not learn the other's key")
	}
	msg := bytes.Repeat([]byte("0123456789"), 500) // five frames
	go func() { _, _ = sa.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(sb, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(msg))
	}
	go func() { _, _ = sb.Write(msg[:7]) }()
	if _, err := io.ReadFull(sa, got[:7]); err != nil || !bytes.Equal(got[:7], msg[:7]) {
		t.Fatalf("the other way: %v", err)
	}
}
