package types

import (
	"encoding/binary"
	"time"
)

// canonicalWriter appends fixed-width big-endian integers and length-prefixed
// byte strings. It is the one deterministic encoding used for sign bytes and
// hashes, so two nodes always hash and sign the same bytes.
type canonicalWriter struct{ buf []byte }

func (w *canonicalWriter) u8(v uint8)   { w.buf = append(w.buf, v) }
func (w *canonicalWriter) u32(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }
func (w *canonicalWriter) i32(v int32)  { w.u32(uint32(v)) }
func (w *canonicalWriter) u64(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }
func (w *canonicalWriter) i64(v int64)  { w.u64(uint64(v)) }

func (w *canonicalWriter) bytes(b []byte) {
	w.u32(uint32(len(b)))
	w.buf = append(w.buf, b...)
}

func (w *canonicalWriter) str(s string) { w.bytes([]byte(s)) }

// time encodes a timestamp as Unix nanoseconds; the zero time encodes as 0.
func (w *canonicalWriter) time(t time.Time) {
	if t.IsZero() {
		w.i64(0)
		return
	}
	w.i64(t.UnixNano())
}

func (w *canonicalWriter) blockID(id BlockID) {
	w.buf = append(w.buf, id.Hash[:]...)
	w.u32(id.PartSetHeader.Total)
	w.buf = append(w.buf, id.PartSetHeader.Hash[:]...)
}
