package p2p

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cosmos/gogoproto/proto"
	"github.com/libp2p/go-libp2p/core/network"
)

// Frames are a uvarint length followed by that many bytes of protobuf.

// encodeFrame marshals msg into a complete frame.
func encodeFrame(msg proto.Message) ([]byte, error) {
	bz, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", msg, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(bz)+binary.MaxVarintLen32), uint64(len(bz)))
	return append(out, bz...), nil
}

// readFrame reads one frame's payload, refusing payloads over max before
// reading them. It returns the payload and the bytes consumed.
func readFrame(r *bufio.Reader, max int) ([]byte, int, error) {
	var n uint64
	var shift uint
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i == 0 && err == io.EOF {
				return nil, 0, io.EOF
			}
			if err != io.EOF {
				return nil, 0, fmt.Errorf("p2p: read: %w", err)
			}
			return nil, 0, fmt.Errorf("%w: length: %w", ErrBadFrame, io.ErrUnexpectedEOF)
		}
		if i >= binary.MaxVarintLen32 {
			return nil, 0, fmt.Errorf("%w: length prefix over %d bytes", ErrFrameTooLarge, i)
		}
		n |= uint64(b&0x7f) << shift
		if n > uint64(max) {
			return nil, 0, fmt.Errorf("%w: over %d bytes, limit %d", ErrFrameTooLarge, n, max)
		}
		if b < 0x80 {
			break
		}
		shift += 7
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, 0, fmt.Errorf("p2p: read: %w", err)
		}
		return nil, 0, fmt.Errorf("%w: body: %w", ErrBadFrame, io.ErrUnexpectedEOF)
	}
	return buf, int(n) + uvarintLen(n), nil
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// decodeFrame unmarshals payload into msg.
func decodeFrame(payload []byte, msg proto.Message) error {
	if err := proto.Unmarshal(payload, msg); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrBadFrame, msg, err)
	}
	return nil
}

// readRequest reads the one request frame of an inbound request stream and
// decodes it into req, then checks it with valid (nil: no check). A frame
// that cannot be read, decoded or fails the check is the peer's fault: the
// stream is reset, the peer penalised, and readRequest reports false.
func (t *Transport) readRequest(s network.Stream, kind int, req proto.Message, valid func() error) bool {
	p := s.Conn().RemotePeer()
	payload, n, err := readFrame(bufio.NewReader(s), maxRequestFrame)
	if err != nil {
		t.streamError(p, s, err)
		return false
	}
	t.stats.recv(kind, n)
	if err = decodeFrame(payload, req); err == nil && valid != nil {
		err = valid()
	}
	if err != nil {
		t.stats.badFrames.Add(1)
		_ = s.Reset()
		t.penalize(p, penaltyInvalid, err)
		return false
	}
	return true
}
