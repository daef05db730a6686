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
// The log is a sequence of append-only segments in its directory: the head
// segment "wal", the only one written to, and rotated segments "wal.000001",
// "wal.000002", … (a log written before rotation existed is just a head).
// When the head has grown past Options.MaxFileSize (default 64 MiB), the
// next end-of-height marker, for height h, rotates the log:
//
//  1. the head, ending with the synced marker for h, is renamed to the next
//     segment number;
//  2. a new head is created starting with a copy of the marker for h, synced,
//     and the directory is synced;
//  3. the older segments are deleted.
//
// So the previous segment, which holds the records of height h and earlier,
// is always kept, and the head alone holds the current height. A crash at any
// step leaves a log that Open accepts: an empty or missing head is restarted
// with the newest segment's last marker, and segments older than the newest
// are deleted. Open validates only the head; ReplayFrom reads from the newest
// file holding the marker it starts from, forward across segments.
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
// ErrCorrupt. Rotated segments were synced before they were renamed, so they
// have no torn tail; damage in them is reported by ReplayFrom. Any write, flush or fsync error is sticky: the log refuses
// further writes and must be closed and reopened.
package wal
