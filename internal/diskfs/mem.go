package diskfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"sort"
	"sync"
	"time"
)

// sectorSize is the unit a crash keeps or loses of an overwritten region.
const sectorSize = 512

// Mem is an in-memory FS that remembers, for each file, the content its
// last sync made durable; Crash loses the rest the way a disk may. It is
// safe for concurrent use. Paths are cleaned with path.Clean; directories
// exist implicitly (MkdirAll records them for Stat and ReadDir).
type Mem struct {
	mu    sync.Mutex
	files map[string]*memNode
	dirs  map[string]bool
}

type memNode struct {
	data   []byte
	synced []byte
	// dirty is the lowest offset written or truncated since the last
	// sync: synced and data agree before it.
	dirty int
}

func (n *memNode) touch(off int) { n.dirty = min(n.dirty, off) }

// NewMem returns an empty in-memory file system.
func NewMem() *Mem {
	return &Mem{files: map[string]*memNode{}, dirs: map[string]bool{"/": true, ".": true}}
}

// Crash loses what was not synced, as a power cut may, with rng choosing
// how much: of a file that grew past its synced content, a random prefix
// of the unsynced tail survives (so the last record may be torn); of a
// region overwritten in place, each sector keeps its old or its new
// content. Open files must not be used afterwards. It reports how many
// files lost data.
func (m *Mem) Crash(rng *rand.Rand) (lost int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.files))
	for name := range m.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := m.files[name]
		after := crashed(n.synced, n.data, rng)
		if !slices.Equal(after, n.data) {
			lost++
		}
		n.data, n.synced, n.dirty = after, slices.Clone(after), len(after)
	}
	return lost
}

// crashed is what a disk may hold of a file whose synced content is old and
// whose written content is cur.
func crashed(old, cur []byte, rng *rand.Rand) []byte {
	out := slices.Clone(old)
	common := min(len(old), len(cur))
	for off := 0; off < common; off += sectorSize {
		end := min(off+sectorSize, common)
		if !slices.Equal(old[off:end], cur[off:end]) && rng.IntN(2) == 0 {
			copy(out[off:end], cur[off:end])
		}
	}
	if len(cur) > len(old) {
		keep := rng.IntN(len(cur) - len(old) + 1)
		out = append(out, cur[len(old):len(old)+keep]...)
	}
	return out
}

func clean(name string) string { return path.Clean(name) }

func (m *Mem) OpenFile(name string, flag int, _ fs.FileMode) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		n = &memNode{}
		m.files[name] = n
	}
	if flag&os.O_TRUNC != 0 {
		n.data = nil
		n.touch(0)
	}
	f := &memFile{m: m, name: name, n: n, write: flag&(os.O_WRONLY|os.O_RDWR) != 0}
	if flag&os.O_APPEND != 0 {
		f.pos = int64(len(n.data))
	}
	return f, nil
}

func (m *Mem) ReadFile(name string) ([]byte, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(n.data), nil
}

// Synced is the content of the file name that its last sync made durable:
// what a crash now would leave at least (nil for a missing file).
func (m *Mem) Synced(name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.files[clean(name)]; ok {
		return slices.Clone(n.synced)
	}
	return nil
}

// SyncedContains reports whether the durable content of the file name
// (Synced) holds sub, without copying it. It searches from the end, so
// what was synced last is found first: cheap on a long log.
func (m *Mem) SyncedContains(name string, sub []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[clean(name)]
	return ok && bytes.LastIndex(n.synced, sub) >= 0
}

func (m *Mem) ReadDir(name string) ([]fs.DirEntry, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[name] {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for p, n := range m.files {
		if path.Dir(p) == name {
			out = append(out, fs.FileInfoToDirEntry(memInfo{name: path.Base(p), size: int64(len(n.data))}))
		}
	}
	for d := range m.dirs {
		if d != name && path.Dir(d) == name {
			out = append(out, fs.FileInfoToDirEntry(memInfo{name: path.Base(d), dir: true}))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *Mem) Stat(name string) (fs.FileInfo, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.files[name]; ok {
		return memInfo{name: path.Base(name), size: int64(len(n.data))}, nil
	}
	if m.dirs[name] {
		return memInfo{name: path.Base(name), dir: true}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

func (m *Mem) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.files[oldname]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	delete(m.files, oldname)
	m.files[newname] = n
	return nil
}

func (m *Mem) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.files, name)
	return nil
}

func (m *Mem) MkdirAll(name string, _ fs.FileMode) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := name; !m.dirs[d]; d = path.Dir(d) {
		if _, ok := m.files[d]; ok {
			return &fs.PathError{Op: "mkdir", Path: d, Err: errors.New("not a directory")}
		}
		m.dirs[d] = true
	}
	return nil
}

func (m *Mem) SyncDir(name string) error {
	if _, err := m.Stat(name); err != nil {
		return err
	}
	return nil
}

// memFile is an open file of a Mem.
type memFile struct {
	m      *Mem
	name   string
	n      *memNode
	pos    int64
	write  bool
	closed bool
}

var errClosed = errors.New("diskfs: file closed")

func (f *memFile) check(write bool) error {
	switch {
	case f.closed:
		return errClosed
	case write && !f.write:
		return &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(false); err != nil {
		return 0, err
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	n, err := f.WriteAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(true); err != nil {
		return 0, err
	}
	if end := off + int64(len(p)); end > int64(len(f.n.data)) {
		f.n.data = append(f.n.data, make([]byte, end-int64(len(f.n.data)))...)
	}
	copy(f.n.data[off:], p)
	f.n.touch(int(off))
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += int64(len(f.n.data))
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: f.name, Err: fs.ErrInvalid}
	}
	f.pos = offset
	return offset, nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return memInfo{name: path.Base(f.name), size: int64(len(f.n.data))}, nil
}

func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check(true); err != nil {
		return err
	}
	f.n.touch(int(min(size, int64(len(f.n.data)))))
	if size < int64(len(f.n.data)) {
		f.n.data = f.n.data[:size]
	} else {
		f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	}
	return nil
}

func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return errClosed
	}
	n := f.n
	from := min(n.dirty, len(n.synced), len(n.data))
	n.synced = append(n.synced[:from], n.data[from:]...)
	n.dirty = len(n.data)
	return nil
}

func (f *memFile) SyncData() error { return f.Sync() }

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.closed {
		return errClosed
	}
	f.closed = true
	return nil
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o700
	}
	return 0o600
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
