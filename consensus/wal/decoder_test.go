package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func frames(recs ...Record) []byte {
	var b []byte
	for _, r := range recs {
		b = appendRecord(b, r.Kind, r.Payload)
	}
	return b
}

func TestDecoderErrors(t *testing.T) {
	good := frames(Record{Kind: kindEvent, Payload: []byte("hello")})
	withLen := func(n uint32) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[4:8], n)
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"short header", good[:HeaderSize-1], ErrTruncated},
		{"short payload", good[:len(good)-1], ErrTruncated},
		{"header only", good[:HeaderSize], ErrTruncated},
		{"checksum", append(bytes.Clone(good[:len(good)-1]), 'X'), ErrChecksum},
		{"kind zero", make([]byte, HeaderSize), ErrBadKind},
		{"too large", withLen(DefaultMaxRecordSize + 1), ErrTooLarge},
		{"huge length", withLen(1<<32 - 1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(bytes.NewReader(tc.in), 0)
			_, err := d.Decode()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, want %v", err, tc.want)
			}
			if _, again := d.Decode(); again != err {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
		})
	}
}

func TestDecoderRoundTrip(t *testing.T) {
	in := []Record{
		{Kind: KindEndHeight, Payload: endHeightPayload(0)},
		{Kind: kindEvent, Payload: []byte{}},
		{Kind: kindEvent + 1, Payload: bytes.Repeat([]byte{7}, 1000)},
	}
	d := NewDecoder(bytes.NewReader(frames(in...)), 0)
	var off int64
	for i, want := range in {
		got, err := d.Decode()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.Offset != off || got.Kind != want.Kind || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("record %d = %+v, want %+v at %d", i, got, want, off)
		}
		off += got.Size()
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
}

// A header may claim any length; the decoder must not allocate it.
func TestDecoderDoesNotTrustLength(t *testing.T) {
	hdr := make([]byte, HeaderSize)
	binary.BigEndian.PutUint32(hdr[4:8], 1<<32-1)
	hdr[8] = byte(kindEvent)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewDecoder(bytes.NewReader(hdr), 1<<10).Decode()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode = %v, want ErrTooLarge", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("allocated %d bytes for a record limited to 1 KiB", n)
	}
}

func FuzzDecoder(f *testing.F) {
	const maxSize = 4 << 10
	valid := frames(
		Record{Kind: KindEndHeight, Payload: endHeightPayload(0)},
		Record{Kind: kindEvent, Payload: []byte("a vote")},
		Record{Kind: kindEvent, Payload: nil},
	)
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:5])
	f.Add(make([]byte, 64))
	flipped := bytes.Clone(valid)
	flipped[HeaderSize+9] ^= 1
	f.Add(flipped)
	huge := bytes.Clone(valid)
	binary.BigEndian.PutUint32(huge[4:8], 1<<31)
	f.Add(huge)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), maxSize)
		var off int64
		for {
			rec, err := d.Decode()
			if err != nil {
				if err != io.EOF && !isDamage(err) {
					t.Fatalf("unexpected error class: %v", err)
				}
				if d.Offset() != off {
					t.Fatalf("offset after error %d, want %d", d.Offset(), off)
				}
				return
			}
			if cap(rec.Payload) > maxSize {
				t.Fatalf("payload capacity %d above the maximum %d", cap(rec.Payload), maxSize)
			}
			if rec.Offset != off {
				t.Fatalf("offset %d, want %d", rec.Offset, off)
			}
			// A decoded record re-encodes to exactly the bytes it came from.
			if enc := appendRecord(nil, rec.Kind, rec.Payload); !bytes.Equal(enc, data[off:off+rec.Size()]) {
				t.Fatalf("record at %d does not re-encode to its input", off)
			}
			off += rec.Size()
		}
	})
}
