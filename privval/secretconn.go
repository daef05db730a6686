package privval

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	gogotypes "github.com/cosmos/gogoproto/types"
	"github.com/oasisprotocol/curve25519-voi/primitives/merlin"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	cryptopb "github.com/bftnode/bftnode/proto/tendermint/crypto"
	p2ppb "github.com/bftnode/bftnode/proto/tendermint/p2p"
)

// CometBFT's SecretConnection, which carries the remote signer protocol
// over tcp://: an authenticated key exchange (ephemeral X25519 keys, a
// merlin transcript, HKDF-SHA256 keys, each side signing the transcript's
// challenge with its Ed25519 key), then ChaCha20-Poly1305 sealed frames of
// a 4-byte little-endian length and up to 1024 bytes of data, padded to
// 1028, with a 12-byte nonce counting up from zero in each direction.
const (
	scDataMax     = 1024
	scFrameSize   = 4 + scDataMax
	scSealedFrame = scFrameSize + chacha20poly1305.Overhead
	// scHandshakeMax bounds a handshake message (a 32-byte key, or a key
	// and a signature, with their framing).
	scHandshakeMax = 1024
)

// secretConn is a net.Conn inside a SecretConnection.
type secretConn struct {
	net.Conn
	remote ed25519.PublicKey

	rmu       sync.Mutex
	r         *bufio.Reader
	recv      cipher.AEAD
	recvNonce [chacha20poly1305.NonceSize]byte
	pending   []byte // decrypted data not yet read

	wmu       sync.Mutex
	send      cipher.AEAD
	sendNonce [chacha20poly1305.NonceSize]byte
}

// secretHandshake runs the SecretConnection handshake on nc, proving the
// key priv; the peer's key is in the result's remote field. The caller
// sets nc's deadline.
func secretHandshake(nc net.Conn, priv ed25519.PrivateKey) (*secretConn, error) {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	locEph := eph.PublicKey().Bytes()
	var remEph []byte
	if err := exchange(func() error {
		return writeDelimited(nc, &gogotypes.BytesValue{Value: locEph})
	}, func() error {
		var bv gogotypes.BytesValue
		if err := readDelimited(nc, &bv); err != nil {
			return err
		}
		remEph = bv.Value
		return nil
	}); err != nil {
		return nil, fmt.Errorf("secret connection: exchanging ephemeral keys: %w", err)
	}
	remKey, err := ecdh.X25519().NewPublicKey(remEph)
	if err != nil {
		return nil, fmt.Errorf("secret connection: the peer's ephemeral key: %w", err)
	}
	dh, err := eph.ECDH(remKey) // fails on a low-order key (an all-zero secret)
	if err != nil {
		return nil, fmt.Errorf("secret connection: %w", err)
	}
	lo, hi := locEph, remEph
	locIsLeast := bytes.Compare(locEph, remEph) < 0
	if !locIsLeast {
		lo, hi = remEph, locEph
	}
	tr := merlin.NewTranscript("TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH")
	tr.AppendMessage("EPHEMERAL_LOWER_PUBLIC_KEY", lo)
	tr.AppendMessage("EPHEMERAL_UPPER_PUBLIC_KEY", hi)
	tr.AppendMessage("DH_SECRET", dh)
	var keys [2*chacha20poly1305.KeySize + 32]byte
	if _, err := io.ReadFull(hkdf.New(sha256.New, dh, nil, []byte("TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN")), keys[:]); err != nil {
		return nil, err
	}
	recvKey, sendKey := keys[:chacha20poly1305.KeySize], keys[chacha20poly1305.KeySize:2*chacha20poly1305.KeySize]
	if !locIsLeast {
		recvKey, sendKey = sendKey, recvKey
	}
	var challenge [32]byte
	tr.ExtractBytes(challenge[:], "SECRET_CONNECTION_MAC")
	sc := &secretConn{Conn: nc, r: bufio.NewReaderSize(nc, 4*scSealedFrame)}
	if sc.recv, err = chacha20poly1305.New(recvKey); err != nil {
		return nil, err
	}
	if sc.send, err = chacha20poly1305.New(sendKey); err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	var auth p2ppb.AuthSigMessage
	if err := exchange(func() error {
		return writeDelimited(sc, &p2ppb.AuthSigMessage{
			PubKey: cryptopb.PublicKey{Sum: &cryptopb.PublicKey_Ed25519{Ed25519: pub}},
			Sig:    ed25519.Sign(priv, challenge[:]),
		})
	}, func() error {
		return readDelimited(sc, &auth)
	}); err != nil {
		return nil, fmt.Errorf("secret connection: exchanging signatures: %w", err)
	}
	remote := auth.PubKey.GetEd25519()
	if len(remote) != ed25519.PublicKeySize {
		return nil, errors.New("secret connection: the peer's key is not an Ed25519 key")
	}
	if !ed25519.Verify(remote, challenge[:], auth.Sig) {
		return nil, errors.New("secret connection: the peer's signature of the challenge does not verify")
	}
	sc.remote = remote
	return sc, nil
}

// exchange runs write and read together (each side of the handshake
// writes before it reads) and returns the first error.
func exchange(write, read func() error) error {
	done := make(chan error, 1)
	go func() { done <- write() }()
	return errors.Join(read(), <-done)
}

type protoMsg interface {
	Size() int
	MarshalTo([]byte) (int, error)
	Unmarshal([]byte) error
}

func writeDelimited(w io.Writer, m protoMsg) error {
	buf := binary.AppendUvarint(nil, uint64(m.Size()))
	n := len(buf)
	buf = append(buf, make([]byte, m.Size())...)
	if _, err := m.MarshalTo(buf[n:]); err != nil {
		return err
	}
	_, err := w.Write(buf)
	return err
}

// readDelimited reads one length-delimited message of at most
// scHandshakeMax bytes, and not a byte more: what follows it belongs to
// the next step.
func readDelimited(r io.Reader, m protoMsg) error {
	size, err := binary.ReadUvarint(byteReader{r})
	if err != nil {
		return err
	}
	if size > scHandshakeMax {
		return fmt.Errorf("a handshake message of %d bytes, limit %d", size, scHandshakeMax)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	return m.Unmarshal(buf)
}

// byteReader reads one byte at a time, without reading ahead.
type byteReader struct{ io.Reader }

func (b byteReader) ReadByte() (byte, error) {
	var c [1]byte
	_, err := io.ReadFull(b.Reader, c[:])
	return c[0], err
}

func nextNonce(n *[chacha20poly1305.NonceSize]byte) {
	binary.LittleEndian.PutUint64(n[4:], binary.LittleEndian.Uint64(n[4:])+1)
}

// Write seals data in frames and writes them.
func (sc *secretConn) Write(data []byte) (int, error) {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	out := make([]byte, 0, (len(data)/scDataMax+1)*scSealedFrame)
	for rest := data; len(rest) > 0; {
		chunk := rest[:min(len(rest), scDataMax)]
		rest = rest[len(chunk):]
		var frame [scFrameSize]byte
		binary.LittleEndian.PutUint32(frame[:4], uint32(len(chunk)))
		copy(frame[4:], chunk)
		out = sc.send.Seal(out, sc.sendNonce[:], frame[:], nil)
		nextNonce(&sc.sendNonce)
	}
	if _, err := sc.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(data), nil
}

// Read returns decrypted data, reading and opening a frame when none is
// pending.
func (sc *secretConn) Read(b []byte) (int, error) {
	sc.rmu.Lock()
	defer sc.rmu.Unlock()
	if len(sc.pending) == 0 {
		var sealed [scSealedFrame]byte
		if _, err := io.ReadFull(sc.r, sealed[:]); err != nil {
			return 0, err
		}
		frame, err := sc.recv.Open(sealed[:0], sc.recvNonce[:], sealed[:], nil)
		if err != nil {
			return 0, fmt.Errorf("%w: a secret connection frame does not open: %w", errGarbage, err)
		}
		nextNonce(&sc.recvNonce)
		size := binary.LittleEndian.Uint32(frame[:4])
		if size > scDataMax {
			return 0, fmt.Errorf("%w: a secret connection frame of %d bytes, limit %d", errGarbage, size, scDataMax)
		}
		sc.pending = append(sc.pending[:0], frame[4:4+size]...)
	}
	n := copy(b, sc.pending)
	sc.pending = sc.pending[n:]
	return n, nil
}
