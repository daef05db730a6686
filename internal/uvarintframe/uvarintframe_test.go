package uvarintframe

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// raw is a message whose encoding is its bytes.
type raw []byte

func (m raw) Size() int                         { return len(m) }
func (m raw) MarshalTo(dst []byte) (int, error) { return copy(dst, m), nil }
func (m *raw) Unmarshal(src []byte) error {
	if bytes.Equal(src, []byte("bad")) {
		return errors.New("undecodable")
	}
	*m = append((*m)[:0], src...)
	return nil
}

func read(t *testing.T, in []byte, max int) (raw, error) {
	t.Helper()
	var m raw
	err := Read(bufio.NewReader(bytes.NewReader(in)), &m, max)
	return m, err
}

func TestRoundTripAndLengthPrefix(t *testing.T) {
	body := bytes.Repeat([]byte{7}, 300)
	var buf bytes.Buffer
	if err := Write(&buf, raw(body)); err != nil {
		t.Fatal(err)
	}
	// 300 = 0b1_0010_1100: low seven bits 0x2c with the continuation bit, then 0x02.
	if got := buf.Bytes()[:2]; !bytes.Equal(got, []byte{0xac, 0x02}) {
		t.Fatalf("length prefix % x, want ac 02", got)
	}
	m, err := read(t, buf.Bytes(), 300)
	if err != nil || !bytes.Equal(m, body) {
		t.Fatalf("read back %d bytes, err %v", len(m), err)
	}
}

func TestReadErrors(t *testing.T) {
	overflow := append(bytes.Repeat([]byte{0xff}, 9), 0x02) // 10th byte above 1
	overlong := bytes.Repeat([]byte{0x80}, 11)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty stream", nil, io.EOF},
		{"ends inside the length", []byte{0x80}, io.ErrUnexpectedEOF},
		{"ends inside the body", []byte{5, 'a', 'b'}, io.ErrUnexpectedEOF},
		{"over the limit", []byte{0x81, 0x01}, ErrTooLarge},
		{"length overflows", overflow, ErrMalformed},
		{"length overlong", overlong, ErrMalformed},
		{"body does not decode", []byte{3, 'b', 'a', 'd'}, ErrMalformed},
	}
	for _, c := range cases {
		if _, err := read(t, c.in, 100); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// failing is a reader whose every read fails.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

func TestReaderErrorsPassThrough(t *testing.T) {
	reset := errors.New("connection reset")
	var m raw
	err := Read(bufio.NewReader(failing{reset}), &m, 100)
	if !errors.Is(err, reset) || errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want the reader's own error, not a malformed frame", err)
	}
}
