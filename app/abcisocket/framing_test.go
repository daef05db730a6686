package abcisocket

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// frameOf returns msg's frame.
func frameOf(t testing.TB, msg Marshaler) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMessage(&buf, msg); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	return buf.Bytes()
}

// checkGolden compares frame, as hex, with testdata/golden/name.hex.
func checkGolden(t *testing.T, name string, frame []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".hex")
	got := hex.EncodeToString(frame) + "\n"
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("frame differs from %s\ngot  %s\nwant %s", path, got, want)
	}
}

// TestGoldenFrames pins the wire bytes of every request and response kind,
// and checks that each frame decodes back to the same message.
func TestGoldenFrames(t *testing.T) {
	for name, req := range sampleRequests() {
		t.Run("request_"+name, func(t *testing.T) {
			frame := frameOf(t, req)
			checkGolden(t, "request_"+name, frame)
			var got abci.Request
			if err := ReadMessage(bufio.NewReader(bytes.NewReader(frame)), &got, DefaultMaxMessageSize); err != nil {
				t.Fatalf("ReadMessage: %v", err)
			}
			if !bytes.Equal(frameOf(t, &got), frame) {
				t.Errorf("decoded request re-encodes differently")
			}
		})
	}
	for name, res := range sampleResponses() {
		t.Run("response_"+name, func(t *testing.T) {
			frame := frameOf(t, res)
			checkGolden(t, "response_"+name, frame)
			var got abci.Response
			if err := ReadMessage(bufio.NewReader(bytes.NewReader(frame)), &got, DefaultMaxMessageSize); err != nil {
				t.Fatalf("ReadMessage: %v", err)
			}
			if !bytes.Equal(frameOf(t, &got), frame) {
				t.Errorf("decoded response re-encodes differently")
			}
		})
	}
}

// TestFrameLayout checks the framing itself on a message small enough to
// spell out: zig-zag varint length, then the protobuf bytes.
func TestFrameLayout(t *testing.T) {
	echo := &abci.Request{Value: &abci.Request_Echo{Echo: &abci.RequestEcho{Message: "hi"}}}
	// Request field 1 (echo), 4 bytes: RequestEcho field 1 (message), 2 bytes "hi".
	want := []byte{12, 0x0a, 0x04, 0x0a, 0x02, 'h', 'i'} // 12 is 6 zig-zag encoded
	if got := frameOf(t, echo); !bytes.Equal(got, want) {
		t.Fatalf("frame = %x, want %x", got, want)
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
		{"cut in body", []byte{12, 0x0a}, 100, io.ErrUnexpectedEOF},
		{"negative length", []byte{1}, 100, ErrBadFrame},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), 100, ErrBadFrame},
		{"too large", []byte{0xd0, 0x0f}, 100, ErrMessageTooLarge}, // 1000 bytes
		{"garbage body", []byte{4, 0xff, 0xff}, 100, ErrBadFrame},
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
	f.Add([]byte{1})
	f.Add([]byte{0xd0, 0x0f})
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
