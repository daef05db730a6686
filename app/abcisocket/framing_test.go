package abcisocket

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

// frameOf returns msg's frame.
func frameOf(t testing.TB, msg Marshaler) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMessage(&buf, msg); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	return buf.Bytes()
}

// readGolden returns the frame in testdata/golden/name.hex. The golden files
// are written by CometBFT's own encoder (abci/types.WriteMessage), from the
// same samples built with CometBFT's types, by the interop module:
// `cd test/interop && go test -run TestABCIGoldenFrames -update`.
func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".hex")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with CometBFT: cd test/interop && go test -run TestABCIGoldenFrames -update)", err)
	}
	frame, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return frame
}

// checkGolden checks that sample encodes to CometBFT's frame for it, byte
// for byte, and that the frame decodes (into decoded) to the same message.
func checkGolden(t *testing.T, name string, sample Marshaler, decoded interface {
	Marshaler
	Unmarshaler
}) {
	t.Helper()
	want := readGolden(t, name)
	if got := frameOf(t, sample); !bytes.Equal(got, want) {
		t.Errorf("our frame differs from CometBFT's\nours     %x\nCometBFT %x", got, want)
	}
	r := bufio.NewReader(bytes.NewReader(want))
	if err := ReadMessage(r, decoded, DefaultMaxMessageSize); err != nil {
		t.Fatalf("ReadMessage of CometBFT's frame: %v", err)
	}
	if r.Buffered() != 0 {
		t.Errorf("%d bytes left after the frame", r.Buffered())
	}
	if !bytes.Equal(frameOf(t, decoded), frameOf(t, sample)) {
		t.Errorf("CometBFT's frame decodes to %v, want %v", decoded, sample)
	}
}

// TestGoldenFrames checks that we encode every request and response kind
// exactly as CometBFT does, and decode CometBFT's frames to the same
// messages.
func TestGoldenFrames(t *testing.T) {
	for name, req := range sampleRequests() {
		t.Run("request_"+name, func(t *testing.T) {
			checkGolden(t, "request_"+name, req, new(abci.Request))
		})
	}
	for name, res := range sampleResponses() {
		t.Run("response_"+name, func(t *testing.T) {
			checkGolden(t, "response_"+name, res, new(abci.Response))
		})
	}
}

// TestFrameLayout checks the framing itself on a message small enough to
// spell out: the length as an unsigned varint, then the protobuf bytes. A
// length of 300 takes two varint bytes, low seven bits first.
func TestFrameLayout(t *testing.T) {
	echo := &abci.Request{Value: &abci.Request_Echo{Echo: &abci.RequestEcho{Message: "hi"}}}
	// Request field 1 (echo), 4 bytes: RequestEcho field 1 (message), 2 bytes "hi".
	want := []byte{6, 0x0a, 0x04, 0x0a, 0x02, 'h', 'i'}
	if got := frameOf(t, echo); !bytes.Equal(got, want) {
		t.Fatalf("frame = %x, want %x", got, want)
	}
	// 300 = 0b10_0101100: 0xac (0x2c with the continuation bit), then 0x02.
	long := &abci.Request{Value: &abci.Request_Echo{Echo: &abci.RequestEcho{Message: strings.Repeat("x", 294)}}}
	frame := frameOf(t, long)
	if len(frame) != 302 || frame[0] != 0xac || frame[1] != 0x02 {
		t.Fatalf("frame of a 300-byte message starts %x and is %d bytes, want ac02… and 302", frame[:min(len(frame), 4)], len(frame))
	}
}

func TestReadMessageErrors(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"clean end", nil, 100, io.EOF},
		{"cut in length", []byte{0x80}, 100, io.ErrUnexpectedEOF},
		{"cut in body", []byte{6, 0x0a}, 100, io.ErrUnexpectedEOF},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), 100, ErrBadFrame},
		{"too large", []byte{0xe8, 0x07}, 100, ErrMessageTooLarge},                             // 1000 bytes
		{"beyond int64", append(bytes.Repeat([]byte{0xff}, 9), 0x01), 100, ErrMessageTooLarge}, // 2^64-1
		{"garbage body", []byte{2, 0xff, 0xff}, 100, ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req abci.Request
			err := ReadMessage(bufio.NewReader(bytes.NewReader(tt.input)), &req, tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadMessage = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzReadMessage feeds arbitrary bytes to the frame decoder: it must never
// panic, and a frame it accepts must survive re-encoding.
func FuzzReadMessage(f *testing.F) {
	for _, req := range sampleRequests() {
		f.Add(frameOf(f, req))
	}
	f.Add([]byte{})
	f.Add([]byte{0xe8, 0x07})
	f.Add([]byte{2, 0xff, 0xff})
	f.Add(bytes.Repeat([]byte{0xff}, 11))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			var req abci.Request
			if err := ReadMessage(r, &req, 1<<16); err != nil {
				for _, known := range []error{io.EOF, io.ErrUnexpectedEOF, ErrBadFrame, ErrMessageTooLarge} {
					if errors.Is(err, known) {
						return
					}
				}
				t.Fatalf("unclassified error: %v", err)
			}
			frame := frameOf(t, &req)
			var again abci.Request
			if err := ReadMessage(bufio.NewReader(bytes.NewReader(frame)), &again, len(frame)); err != nil {
				t.Fatalf("re-encoded frame does not decode: %v", err)
			}
			if !bytes.Equal(frameOf(t, &again), frame) {
				t.Fatalf("re-encoding is not stable")
			}
		}
	})
}
