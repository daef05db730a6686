// Package wal is the consensus write-ahead log.
//
// The engine appends every input event that changed the consensus core's
// state, and every vote or proposal this node signs before the message
// leaves; on start it replays the records of the current height through the
// core with sends suppressed. The log does not know the payload encoding (the
// engine encodes events with protobuf): it frames opaque records.
//
// # Layout
//
// The log is one append-only file named "wal" in its directory. It is not
// rotated: every Open and every replay reads it from the start.
//
// # Framing
//
// Each record is
//
//	crc32c   uint32, big endian: CRC-32C (Castagnoli) of the kind byte and the payload
//	length   uint32, big endian: payload length, at most the maximum record size
//	kind     uint8: 0 is invalid, 1–15 are reserved for the log (1 is the end-of-height marker)
//	payload  length bytes
//
// The checksum also covers the kind byte, so a flipped kind is detected and a
// run of zero bytes (what some file systems leave at the end of a file after a
// crash) is never a valid record: CRC-32C of an empty input is 0.
//
// # Heights
//
// WriteEndHeight(h) marks that height h is decided and saved; the records of
// height h are those after the marker for h-1. A new log starts with the
// marker for Options.InitialHeight-1.
//
// # Durability and recovery
//
// Write buffers; WriteSync and WriteEndHeight flush and fsync before
// returning. On Open, a torn or corrupt tail (a crash mid-write: a short
// header, a short payload or a checksum mismatch with no valid record after
// it) is truncated, with a warning saying how many bytes were dropped.
// Corruption followed by valid records is not a torn write and Open fails with
// ErrCorrupt. Any write, flush or fsync error is sticky: the log refuses
// further writes and must be closed and reopened.
package wal
