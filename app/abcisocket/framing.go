package abcisocket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxMessageSize bounds a decoded message unless configured otherwise.
// It leaves room for a FinalizeBlock request carrying a full 100 MiB block.
const DefaultMaxMessageSize = 104 << 20

var (
	// ErrMessageTooLarge is returned for a frame longer than the size limit.
	ErrMessageTooLarge = errors.New("abci message too large")
	// ErrBadFrame is returned for a frame that cannot be decoded.
	ErrBadFrame = errors.New("malformed abci frame")
)

// Marshaler is a message that can be framed: the generated abci.Request and
// abci.Response types implement it.
type Marshaler interface {
	Size() int
	MarshalTo(dst []byte) (int, error)
}

// Unmarshaler is a message that can be decoded from a frame.
type Unmarshaler interface {
	Unmarshal(src []byte) error
}

// WriteMessage writes msg to w as one frame: its length as an unsigned
// varint, then its protobuf encoding. w is usually buffered; the caller
// flushes it.
func WriteMessage(w io.Writer, msg Marshaler) error {
	size := msg.Size()
	buf := make([]byte, binary.MaxVarintLen64+size)
	n := binary.PutUvarint(buf, uint64(size))
	if _, err := msg.MarshalTo(buf[n : n+size]); err != nil {
		return fmt.Errorf("marshal abci message: %w", err)
	}
	_, err := w.Write(buf[:n+size])
	return err
}

// ReadMessage reads one frame from r into msg. A frame whose declared length
// is above maxSize fails before anything is allocated. The error is io.EOF
// only when r ends cleanly between frames.
func ReadMessage(r *bufio.Reader, msg Unmarshaler, maxSize int) error {
	size, err := binary.ReadUvarint(r)
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return err
	case err != nil: // only an overlong varint, the reader having succeeded
		return fmt.Errorf("%w: length: %w", ErrBadFrame, err)
	case size > uint64(maxSize):
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, size, maxSize)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := msg.Unmarshal(buf); err != nil {
		return fmt.Errorf("%w: its %d-byte message does not decode: %w", ErrBadFrame, size, err)
	}
	return nil
}
