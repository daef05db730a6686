package wal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/bftnode/bftnode/internal/diskfs"
)

// FileName is the name of the head segment, the one written to, inside the
// WAL directory. Older segments are FileName followed by a dot and a
// sequence number (see the package documentation).
const FileName = "wal"

// DefaultMaxFileSize is the default size past which the head segment is
// rotated at the next end-of-height marker.
const DefaultMaxFileSize = 64 << 20

const defaultBufferSize = 64 << 10

// Errors of the log.
var (
	// ErrCorrupt means a bad record is followed by valid ones: the damage is
	// not a torn write, so Open refuses to cut the log there.
	ErrCorrupt = errors.New("corrupt WAL")
	// ErrHeightNotFound means the end-of-height marker a replay starts from
	// is not in the log.
	ErrHeightNotFound = errors.New("end-of-height marker not found")
	ErrClosed         = errors.New("WAL closed")
)

// Options configure a WAL. The zero value is usable.
type Options struct {
	// MaxRecordSize limits a record's payload, on write and on read.
	// Default DefaultMaxRecordSize.
	MaxRecordSize int
	// BufferSize is the size of the write buffer. Default 64 KiB.
	BufferSize int
	// InitialHeight is the chain's first height; a new log starts with the
	// end-of-height marker for InitialHeight-1. Default 1.
	InitialHeight int64
	// MaxFileSize is the size in bytes past which the head segment is
	// rotated, at the next end-of-height marker. Default
	// DefaultMaxFileSize; a negative value disables rotation.
	MaxFileSize int64
	// FS is the file system the log lives on. Default diskfs.OS; the
	// simulator's is in memory (diskfs.Mem) and loses what was not
	// synced when it crashes.
	FS diskfs.FS
}

func (o Options) withDefaults() Options {
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.BufferSize <= 0 {
		o.BufferSize = defaultBufferSize
	}
	if o.InitialHeight <= 0 {
		o.InitialHeight = 1
	}
	if o.FS == nil {
		o.FS = diskfs.OS
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	return o
}

// WAL is an open write-ahead log. Its methods are safe for concurrent use,
// though the engine is expected to be its only writer.
type WAL struct {
	mu      sync.Mutex
	fs      diskfs.FS
	dir     string
	path    string // the head segment
	max     int
	maxFile int64 // rotation threshold; <= 0: never rotate
	bufSize int
	size    int64       // bytes written to the head segment, buffered included
	f       diskfs.File // nil once closed
	bw      *bufio.Writer
	frame   []byte // scratch buffer for one record's framing
	err     error  // first write, flush or fsync error; sticky
	logger  *slog.Logger
}

// Open opens or creates the log in dir, truncating a torn tail of the head
// segment and finishing a rotation a crash interrupted (see the package
// documentation). A nil logger discards.
func Open(dir string, opts Options, logger *slog.Logger) (*WAL, error) {
	opts = opts.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := opts.FS.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	segs, err := listSegments(opts.FS, dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := opts.FS.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	end, err := recoverTail(f, path, opts.MaxRecordSize, logger)
	if err == nil {
		_, err = f.Seek(end, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	w := &WAL{
		fs:      opts.FS,
		dir:     dir,
		path:    path,
		max:     opts.MaxRecordSize,
		maxFile: opts.MaxFileSize,
		bufSize: opts.BufferSize,
		size:    end,
		f:       f,
		bw:      bufio.NewWriterSize(f, opts.BufferSize),
		logger:  logger,
	}
	if end == 0 {
		// A new log, or a rotation that stopped before the new head got its
		// first record: start the head with the last marker written.
		start := opts.InitialHeight - 1
		if len(segs) > 0 {
			last := segs[len(segs)-1]
			h, found, err := lastEndHeight(w.fs, last.path, w.max)
			if err != nil {
				_ = w.Close()
				return nil, err
			}
			if !found {
				_ = w.Close()
				return nil, fmt.Errorf("wal: %w: segment %s has no end-of-height marker", ErrCorrupt, last.path)
			}
			start = h
		}
		err = w.WriteEndHeight(start)
		if err == nil {
			err = syncDir(w.fs, dir)
		}
		if err != nil {
			_ = w.Close()
			return nil, err
		}
	}
	if len(segs) > 1 {
		// A crash came between a rotation's new head and its clean-up.
		w.removeSegments(segs[:len(segs)-1])
	}
	return w, nil
}

// Path is the path of the head segment, the file being written.
func (w *WAL) Path() string { return w.path }

// Write appends a record to the buffer without flushing it. kind must be at
// least MinUserKind.
func (w *WAL) Write(kind Kind, payload []byte) error {
	if err := checkUserKind(kind); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(kind, payload)
}

// WriteSync appends a record and fsyncs the log before returning; use it for
// the node's own signed messages, before they are sent.
func (w *WAL) WriteSync(kind Kind, payload []byte) error {
	if err := checkUserKind(kind); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.write(kind, payload); err != nil {
		return err
	}
	return w.sync()
}

// WriteEndHeight appends the end-of-height marker for height and fsyncs.
// If the head segment has grown past Options.MaxFileSize, it then rotates
// the log (see the package documentation).
func (w *WAL) WriteEndHeight(height int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.write(KindEndHeight, endHeightPayload(height)); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	if w.maxFile > 0 && w.size >= w.maxFile {
		return w.rotate(height)
	}
	return nil
}

// Flush writes buffered records to the operating system, without fsync.
func (w *WAL) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

// Sync flushes buffered records and fsyncs the log.
func (w *WAL) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sync()
}

// Close syncs and closes the log. Later calls return ErrClosed.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("wal: %w", ErrClosed)
	}
	err := w.sync()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wal: close: %w", cerr)
	}
	w.f = nil
	return err
}

func checkUserKind(kind Kind) error {
	if kind < MinUserKind {
		return fmt.Errorf("wal: %w %d: kinds below %d are reserved", ErrBadKind, kind, MinUserKind)
	}
	return nil
}

func (w *WAL) usable() error {
	if w.f == nil {
		return fmt.Errorf("wal: %w", ErrClosed)
	}
	return w.err
}

// fail records the first I/O error: after a failed write or fsync the state
// of the file is unknown, so the log takes no more writes (reopening it
// truncates whatever was torn).
func (w *WAL) fail(op string, err error) error {
	w.err = fmt.Errorf("wal: %s %s: %w (the WAL takes no more writes; reopen it)", op, w.path, err)
	return w.err
}

func (w *WAL) write(kind Kind, payload []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if len(payload) > w.max {
		return fmt.Errorf("wal: %w: %d bytes, maximum %d", ErrTooLarge, len(payload), w.max)
	}
	w.frame = appendRecord(w.frame[:0], kind, payload)
	if _, err := w.bw.Write(w.frame); err != nil {
		return w.fail("write", err)
	}
	w.size += int64(len(w.frame))
	return nil
}

func (w *WAL) flush() error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return w.fail("flush", err)
	}
	return nil
}

func (w *WAL) sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return w.fail("fsync", err)
	}
	return nil
}

// ReplayFrom returns, in order, the records of height: those after the
// end-of-height marker for height-1, up to the marker for height if the log
// has one, across segments. It fails with ErrHeightNotFound if the marker
// for height-1 is missing. Buffered records are flushed first so that they
// are included.
func (w *WAL) ReplayFrom(height int64) ([]Record, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flush(); err != nil {
		return nil, err
	}
	segs, err := listSegments(w.fs, w.dir)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(segs)+1)
	for _, s := range segs {
		paths = append(paths, s.path)
	}
	paths = append(paths, w.path)
	// The marker is almost always in the head: search from the newest
	// segment back, and read forward from the first one holding it.
	for start := len(paths) - 1; start >= 0; start-- {
		recs, found, err := replayFiles(w.fs, paths[start:], height, w.max)
		if err != nil || found {
			return recs, err
		}
	}
	return nil, fmt.Errorf("wal: replay of height %d from %s: %w for height %d", height, w.dir, ErrHeightNotFound, height-1)
}

// replayFiles reads the files in order as one log and returns the records
// of height, and whether the marker for height-1 was found.
func replayFiles(fsys diskfs.FS, paths []string, height int64, maxRecordSize int) ([]Record, bool, error) {
	var recs []Record
	found := false
	for _, path := range paths {
		done, err := eachRecord(fsys, path, maxRecordSize, func(rec Record) bool {
			h, isEnd := rec.EndHeight()
			switch {
			case isEnd && h == height-1:
				found, recs = true, nil
			case isEnd && found && h >= height:
				return false
			case found && !isEnd:
				recs = append(recs, rec)
			}
			return true
		})
		if err != nil {
			return nil, false, fmt.Errorf("wal: replay of height %d: %w", height, err)
		}
		if done {
			break
		}
	}
	return recs, found, nil
}

func syncDir(fsys diskfs.FS, dir string) error {
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("wal: fsync %s: %w", dir, err)
	}
	return nil
}
