// Package uvarintframe reads and writes protobuf messages framed by their
// length as an unsigned varint: the framing of ABCI 2.0's socket protocol
// and of the remote signer (privval) protocol.
package uvarintframe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrTooLarge marks a frame whose declared length is over the limit.
	ErrTooLarge = errors.New("frame too large")
	// ErrMalformed marks bytes that are not a frame of a decodable message.
	ErrMalformed = errors.New("malformed frame")
)

// Marshaler is a message that can be framed, as gogoproto generates them.
type Marshaler interface {
	Size() int
	MarshalTo(dst []byte) (int, error)
}

// Unmarshaler is a message that can be decoded from a frame.
type Unmarshaler interface {
	Unmarshal(src []byte) error
}

// Write writes msg to w as one frame, in a single Write call.
func Write(w io.Writer, msg Marshaler) error {
	size := msg.Size()
	buf := make([]byte, binary.MaxVarintLen64+size)
	n := binary.PutUvarint(buf, uint64(size))
	if _, err := msg.MarshalTo(buf[n : n+size]); err != nil {
		return fmt.Errorf("marshal %T: %w", msg, err)
	}
	_, err := w.Write(buf[:n+size])
	return err
}

// Read reads one frame from r into msg. A declared length over maxSize
// fails (ErrTooLarge) before anything is allocated; an overlong length or a
// body that does not decode fails with ErrMalformed. The error is io.EOF
// only when r ends cleanly between frames, io.ErrUnexpectedEOF when it ends
// inside one.
func Read(r *bufio.Reader, msg Unmarshaler, maxSize int) error {
	size, err := readLength(r)
	switch {
	case err != nil:
		return err
	case size > uint64(maxSize):
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, maxSize)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := msg.Unmarshal(buf); err != nil {
		return fmt.Errorf("%w: its %d-byte message does not decode: %w", ErrMalformed, size, err)
	}
	return nil
}

// readLength reads a frame's length. Unlike binary.ReadUvarint it tells an
// overlong or overflowing length (ErrMalformed) from the reader's own errors,
// which it returns as they are.
func readLength(r *bufio.Reader) (uint64, error) {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				break
			}
			return x | uint64(b)<<(7*i), nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, fmt.Errorf("%w: the length overflows 64 bits", ErrMalformed)
}
