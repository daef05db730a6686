package wal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/bftnode/bftnode/internal/diskfs"
)

// recoverTail validates the whole log and returns the end of its valid
// prefix. A bad record with no valid record after it is a torn tail: the file
// is truncated to the valid prefix and synced. A bad record followed by a
// valid one is ErrCorrupt.
func recoverTail(f diskfs.File, path string, maxRecordSize int, logger *slog.Logger) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("wal: %w", err)
	}
	size := st.Size()
	d := NewDecoder(bufio.NewReaderSize(io.NewSectionReader(f, 0, size), defaultBufferSize), maxRecordSize)
	for err == nil {
		_, err = d.Decode()
	}
	if errors.Is(err, io.EOF) {
		return size, nil
	}
	if !isDamage(err) {
		return 0, fmt.Errorf("wal: reading %s: %w", path, err)
	}
	bad := d.Offset()
	next, found, nerr := nextValidRecord(f, bad+1, size, maxRecordSize)
	if nerr != nil {
		return 0, fmt.Errorf("wal: reading %s: %w", path, nerr)
	}
	if found {
		return 0, fmt.Errorf("wal: %w: %s: %w, and a valid record follows at offset %d, so this is not a torn write; "+
			"move the WAL aside with `bftnode reset-state --wal-only` (the signer's last-sign state prevents double-signing) "+
			"or repair it (see wal.Dump)", ErrCorrupt, path, err, next)
	}
	if err := f.Truncate(bad); err != nil {
		return 0, fmt.Errorf("wal: truncating torn tail of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("wal: fsync %s: %w", path, err)
	}
	logger.Warn("wal: truncated a torn tail left by a crash",
		"path", path, "offset", bad, "dropped_bytes", size-bad, "cause", err.Error())
	return bad, nil
}

// isDamage tells a bad record from an I/O error.
func isDamage(err error) bool {
	return errors.Is(err, ErrTruncated) || errors.Is(err, ErrChecksum) ||
		errors.Is(err, ErrTooLarge) || errors.Is(err, ErrBadKind)
}

// nextValidRecord looks for a complete, valid record starting at any offset
// in [from, size). After a crash the bytes after the last good record are
// few, and after damage in the middle a valid record follows within about a
// record's length, so the byte-by-byte search is short in practice.
func nextValidRecord(f diskfs.File, from, size int64, maxRecordSize int) (int64, bool, error) {
	for off := from; off+HeaderSize <= size; off++ {
		_, err := NewDecoder(io.NewSectionReader(f, off, size-off), maxRecordSize).Decode()
		switch {
		case err == nil:
			return off, true, nil
		case !isDamage(err) && !errors.Is(err, io.EOF):
			return 0, false, err
		}
	}
	return 0, false, nil
}
