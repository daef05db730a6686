package abcisocket

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/bftnode/bftnode/internal/uvarintframe"
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
type Marshaler = uvarintframe.Marshaler

// Unmarshaler is a message that can be decoded from a frame.
type Unmarshaler = uvarintframe.Unmarshaler

// WriteMessage writes msg to w as one frame: its length as an unsigned
// varint, then its protobuf encoding. w is usually buffered; the caller
// flushes it.
func WriteMessage(w io.Writer, msg Marshaler) error {
	return uvarintframe.Write(w, msg)
}

// ReadMessage reads one frame from r into msg. A frame whose declared length
// is above maxSize fails before anything is allocated. The error is io.EOF
// only when r ends cleanly between frames.
func ReadMessage(r *bufio.Reader, msg Unmarshaler, maxSize int) error {
	err := uvarintframe.Read(r, msg, maxSize)
	switch {
	case errors.Is(err, uvarintframe.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrMessageTooLarge, err)
	case errors.Is(err, uvarintframe.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	return err
}
