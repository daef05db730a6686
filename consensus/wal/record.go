package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Kind tells the engine how to decode a record's payload.
type Kind uint8

// Record kinds owned by the log. Kinds below MinUserKind are reserved.
const (
	// KindEndHeight marks the end of a height; its payload is the height as
	// a big-endian uint64.
	KindEndHeight Kind = 1
	// MinUserKind is the lowest kind the engine may use with Write.
	MinUserKind Kind = 16
)

const (
	// HeaderSize is the size of a record header: checksum, length, kind.
	HeaderSize = 9
	// DefaultMaxRecordSize is the default limit on a record's payload.
	DefaultMaxRecordSize = 1 << 20
)

// Errors of the framing. Decode errors wrap ErrTruncated, ErrChecksum,
// ErrTooLarge or ErrBadKind with the record's offset.
var (
	ErrTruncated = errors.New("truncated record")
	ErrChecksum  = errors.New("checksum mismatch")
	ErrTooLarge  = errors.New("record too large")
	ErrBadKind   = errors.New("invalid record kind")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one framed entry of the log.
type Record struct {
	Offset  int64 // byte offset of the record's header in the file
	Kind    Kind
	Payload []byte
}

// Size is the record's size on disk, header included.
func (r Record) Size() int64 { return HeaderSize + int64(len(r.Payload)) }

func checksum(kind Kind, payload []byte) uint32 {
	k := [1]byte{byte(kind)}
	return crc32.Update(crc32.Checksum(k[:], castagnoli), castagnoli, payload)
}

// appendRecord appends the framing of one record to dst.
func appendRecord(dst []byte, kind Kind, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, checksum(kind, payload))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, byte(kind))
	return append(dst, payload...)
}

func endHeightPayload(height int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(height))
}

// EndHeight reports the height an end-of-height marker closes.
func (r Record) EndHeight() (int64, bool) {
	if r.Kind != KindEndHeight || len(r.Payload) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(r.Payload)), true
}

// Decoder reads records from a stream. It reads exactly the bytes of each
// record and does not buffer: wrap a file in a bufio.Reader. It never
// allocates more than the maximum record size for a payload, whatever the
// header claims.
type Decoder struct {
	r   io.Reader
	max int
	off int64
	hdr [HeaderSize]byte
	err error
}

// NewDecoder returns a decoder of records at most maxRecordSize bytes long
// (DefaultMaxRecordSize if maxRecordSize <= 0).
func NewDecoder(r io.Reader, maxRecordSize int) *Decoder {
	if maxRecordSize <= 0 {
		maxRecordSize = DefaultMaxRecordSize
	}
	return &Decoder{r: r, max: maxRecordSize}
}

// Offset is the offset of the next record: after an error, the offset of the
// bad record, which is also the end of the valid prefix.
func (d *Decoder) Offset() int64 { return d.off }

// Decode returns the next record, or io.EOF at a clean end of the stream.
// Errors are sticky: once Decode fails it returns the same error.
func (d *Decoder) Decode() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	rec, err := d.decode()
	if err != nil {
		d.err = err
		return Record{}, err
	}
	d.off += rec.Size()
	return rec, nil
}

func (d *Decoder) decode() (Record, error) {
	if n, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		return Record{}, d.readError("header", n, HeaderSize, err)
	}
	sum := binary.BigEndian.Uint32(d.hdr[0:4])
	length := binary.BigEndian.Uint32(d.hdr[4:8])
	kind := Kind(d.hdr[8])
	switch {
	case kind == 0:
		return Record{}, fmt.Errorf("record at offset %d: %w 0", d.off, ErrBadKind)
	case uint64(length) > uint64(d.max):
		return Record{}, fmt.Errorf("record at offset %d: %w: length %d exceeds the maximum %d", d.off, ErrTooLarge, length, d.max)
	}
	payload := make([]byte, length)
	if n, err := io.ReadFull(d.r, payload); err != nil {
		return Record{}, d.readError("payload", n, int(length), err)
	}
	if got := checksum(kind, payload); got != sum {
		return Record{}, fmt.Errorf("record at offset %d (kind %d, length %d): %w: stored %08x, computed %08x", d.off, kind, length, ErrChecksum, sum, got)
	}
	return Record{Offset: d.off, Kind: kind, Payload: payload}, nil
}

// readError turns a short read into ErrTruncated; a clean EOF before a
// header is io.EOF and any other error is an I/O error.
func (d *Decoder) readError(part string, n, want int, err error) error {
	switch {
	case errors.Is(err, io.EOF) && part == "header" && n == 0:
		return io.EOF
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("record at offset %d: %w: %s has %d of %d bytes", d.off, ErrTruncated, part, n, want)
	}
	return fmt.Errorf("record at offset %d: reading %s: %w", d.off, part, err)
}
