package wal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bftnode/bftnode/internal/diskfs"
)

// segmentDigits is the width of a rotated segment's sequence number.
const segmentDigits = 6

// segment is a rotated (no longer written) part of the log.
type segment struct {
	seq  uint64
	path string
}

// segmentName is the file name of the rotated segment seq.
func segmentName(seq uint64) string {
	return fmt.Sprintf("%s.%0*d", FileName, segmentDigits, seq)
}

// parseSegmentName returns the sequence number of a rotated segment's file
// name; ok is false for any other name.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, FileName+".")
	if !ok || len(digits) < segmentDigits {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// listSegments returns the rotated segments in dir, oldest first. Other
// files are ignored.
func listSegments(fsys diskfs.FS, dir string) ([]segment, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var segs []segment
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, segment{seq: seq, path: filepath.Join(dir, e.Name())})
		}
	}
	slices.SortFunc(segs, func(a, b segment) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return segs, nil
}

// Files returns the paths of the log's files in dir in the order they were
// written: the rotated segments, oldest first, then the head segment (if it
// exists). It only reads the directory.
func Files(dir string) ([]string, error) {
	segs, err := listSegments(diskfs.OS, dir)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(segs)+1)
	for _, s := range segs {
		paths = append(paths, s.path)
	}
	head := filepath.Join(dir, FileName)
	if _, err := os.Stat(head); err == nil {
		paths = append(paths, head)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return paths, nil
}

// eachRecord calls fn with each record of the file at path until fn returns
// false; stopped reports that it did. A bad record is an error.
func eachRecord(fsys diskfs.FS, path string, maxRecordSize int, fn func(Record) bool) (stopped bool, err error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return false, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	d := NewDecoder(bufio.NewReaderSize(f, defaultBufferSize), maxRecordSize)
	for {
		rec, err := d.Decode()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
		if !fn(rec) {
			return true, nil
		}
	}
}

// lastEndHeight returns the height of the last end-of-height marker in the
// file at path.
func lastEndHeight(fsys diskfs.FS, path string, maxRecordSize int) (height int64, found bool, err error) {
	_, err = eachRecord(fsys, path, maxRecordSize, func(rec Record) bool {
		if h, ok := rec.EndHeight(); ok {
			height, found = h, true
		}
		return true
	})
	if err != nil {
		return 0, false, fmt.Errorf("wal: %w: %w", ErrCorrupt, err)
	}
	return height, found, nil
}

// rotate makes the head segment, which ends with the synced marker for
// height, the newest rotated segment and starts a new head with a copy of
// that marker, then deletes the older segments. Each step leaves a log that
// Open accepts: the rename is atomic; a head missing or empty is restarted
// from the newest segment's last marker; extra segments are deleted. The
// caller holds mu.
func (w *WAL) rotate(height int64) error {
	segs, err := listSegments(w.fs, w.dir)
	if err != nil {
		return w.fail("rotate", err)
	}
	seq := uint64(1)
	if len(segs) > 0 {
		seq = segs[len(segs)-1].seq + 1
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		return w.fail("rotate: close", err)
	}
	w.f = nil
	rotated := filepath.Join(w.dir, segmentName(seq))
	if err := w.fs.Rename(w.path, rotated); err != nil {
		return w.fail("rotate: rename", err)
	}
	f, err := w.fs.OpenFile(w.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return w.fail("rotate: create", err)
	}
	w.f, w.size = f, 0
	w.bw = bufio.NewWriterSize(f, w.bufSize)
	if err := w.write(KindEndHeight, endHeightPayload(height)); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	// The new head and the rename must be durable before the only other
	// copy of the last height's records can go.
	if err := syncDir(w.fs, w.dir); err != nil {
		return w.fail("rotate", err)
	}
	w.removeSegments(segs)
	w.logger.Debug("wal: rotated", "segment", rotated, "height", height)
	return nil
}

// removeSegments deletes older segments. A failure only leaves a file that
// the next rotation or Open deletes, so it is logged, not returned.
func (w *WAL) removeSegments(segs []segment) {
	if len(segs) == 0 {
		return
	}
	for _, s := range segs {
		if err := w.fs.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.logger.Warn("wal: cannot delete an old segment", "path", s.path, "err", err)
		}
	}
	if err := syncDir(w.fs, w.dir); err != nil {
		w.logger.Warn("wal: fsync after deleting old segments", "dir", w.dir, "err", err)
	}
}
