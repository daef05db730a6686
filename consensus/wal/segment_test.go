package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func segNames(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}

// firstRecord returns the first record of the file at path.
func firstRecord(t *testing.T, path string) Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewDecoder(bytes.NewReader(data), 0).Decode()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rec
}

func TestRotationAtEveryHeight(t *testing.T) {
	dir := t.TempDir()
	w, _, err := openTest(t, dir, Options{MaxFileSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= 5; h++ {
		for _, p := range heightPayloads(int(h), 3) {
			if err := w.Write(kindEvent, p); err != nil {
				t.Fatal(err)
			}
		}
		checkHeight(t, w, h, heightPayloads(int(h), 3))
		if err := w.WriteEndHeight(h); err != nil {
			t.Fatal(err)
		}
		// Open rotated after marker 0, then once per height.
		want := []string{segmentName(uint64(h + 1)), FileName}
		if got := segNames(t, dir); !slices.Equal(got, want) {
			t.Fatalf("after height %d: files %v, want %v", h, got, want)
		}
		if eh, ok := firstRecord(t, w.Path()).EndHeight(); !ok || eh != h {
			t.Fatalf("head starts with %d %v, want the marker for %d", eh, ok, h)
		}
		// The previous height is still in the rotated segment; the new one
		// starts empty in the head.
		checkHeight(t, w, h, heightPayloads(int(h), 3))
		checkHeight(t, w, h+1, nil)
	}
	if _, err := w.ReplayFrom(4); !errors.Is(err, ErrHeightNotFound) {
		t.Fatalf("ReplayFrom(4) after its segment was deleted = %v, want ErrHeightNotFound", err)
	}
	if err := w.Write(kindEvent, payload(600)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, logs, err := openTest(t, dir, Options{MaxFileSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("clean reopen logged: %s", logs)
	}
	checkHeight(t, w, 5, heightPayloads(5, 3))
	checkHeight(t, w, 6, [][]byte{payload(600)})
}

func TestRotationBySize(t *testing.T) {
	dir := t.TempDir()
	// Each height is 4 records of 18 bytes and a 17-byte marker: 89 bytes.
	w, _, err := openTest(t, dir, Options{MaxFileSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	writeHeights(t, w, 7, 4)
	if err := w.WriteEndHeight(7); err != nil {
		t.Fatal(err)
	}
	// Head 17+89+89 < 200 after height 2, ≥ 200 after height 3: rotate;
	// the new head holds 17+89*3 ≥ 200 after height 6: rotate.
	if got, want := segNames(t, dir), []string{segmentName(2), FileName}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for h := 4; h <= 6; h++ {
		checkHeight(t, w, int64(h), heightPayloads(h, 4))
	}
	checkHeight(t, w, 7, heightPayloads(7, 4))
	checkHeight(t, w, 8, nil)
	if _, err := w.ReplayFrom(3); !errors.Is(err, ErrHeightNotFound) {
		t.Fatalf("ReplayFrom(3) = %v, want ErrHeightNotFound", err)
	}
}

// rawLog frames records: n events for each height of heights, each followed
// by its marker if closed, after a leading marker if start >= 0.
func rawLog(start int64, heights []int, closed bool) []byte {
	var out []byte
	if start >= 0 {
		out = appendRecord(out, KindEndHeight, endHeightPayload(start))
	}
	for i, h := range heights {
		for _, p := range heightPayloads(h, 3) {
			out = appendRecord(out, kindEvent, p)
		}
		if closed || i < len(heights)-1 {
			out = appendRecord(out, KindEndHeight, endHeightPayload(int64(h)))
		}
	}
	return out
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCrashDuringRotation opens the log as a crash at each step of the
// rotation after the marker for height 2 leaves it.
func TestCrashDuringRotation(t *testing.T) {
	seg1 := rawLog(0, []int{1}, true) // marker 0, height 1, marker 1
	head := rawLog(1, []int{2}, true) // marker 1, height 2, marker 2
	marker2 := appendRecord(nil, KindEndHeight, endHeightPayload(2))
	s1, s2 := segmentName(1), segmentName(2)
	for _, tc := range []struct {
		name      string
		files     map[string][]byte
		wantFiles []string
	}{
		{"before rename", map[string][]byte{s1: seg1, FileName: head}, []string{s1, FileName}},
		{"renamed, no head", map[string][]byte{s1: seg1, s2: head}, []string{s2, FileName}},
		{"empty head", map[string][]byte{s1: seg1, s2: head, FileName: nil}, []string{s2, FileName}},
		{"torn head marker", map[string][]byte{s1: seg1, s2: head, FileName: marker2[:5]}, []string{s2, FileName}},
		{"old segment not deleted", map[string][]byte{s1: seg1, s2: head, FileName: marker2}, []string{s2, FileName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			w, _, err := openTest(t, dir, Options{MaxFileSize: 1 << 20})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := segNames(t, dir); !slices.Equal(got, tc.wantFiles) {
				t.Fatalf("files %v, want %v", got, tc.wantFiles)
			}
			checkHeight(t, w, 2, heightPayloads(2, 3))
			checkHeight(t, w, 3, nil)
			if err := w.Write(kindEvent, payload(300)); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteEndHeight(3); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w, logs, err := openTest(t, dir, Options{MaxFileSize: 1 << 20})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			if logs.Len() != 0 {
				t.Fatalf("second open logged: %s", logs)
			}
			checkHeight(t, w, 3, [][]byte{payload(300)})
			checkHeight(t, w, 4, nil)
		})
	}
}

// A head without a leading marker (the marker for the height before is the
// last record of the previous segment) replays across the boundary.
func TestReplayAcrossSegmentBoundary(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		segmentName(7): rawLog(0, []int{1}, true),
		FileName:       rawLog(-1, []int{2, 3}, false),
	})
	w, _ := mustOpen(t, dir)
	checkHeight(t, w, 1, heightPayloads(1, 3))
	checkHeight(t, w, 2, heightPayloads(2, 3))
	checkHeight(t, w, 3, heightPayloads(3, 3))
	if got, want := segNames(t, dir), []string{segmentName(7), FileName}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

func TestTornHeadWithSegments(t *testing.T) {
	head := rawLog(1, []int{2}, false)
	dir := writeFiles(t, map[string][]byte{
		segmentName(1): rawLog(0, []int{1}, true),
		FileName:       append(bytes.Clone(head), 0, 0, 0, 9, 1),
	})
	w, logs := mustOpen(t, dir)
	if !bytes.Contains(logs.Bytes(), []byte("dropped_bytes=5")) {
		t.Fatalf("log %q lacks the truncation warning", logs)
	}
	checkHeight(t, w, 2, heightPayloads(2, 3))
}

func TestCorruptSegmentIsReportedOnReplay(t *testing.T) {
	seg := rawLog(0, []int{1}, true)
	seg[HeaderSize+8+HeaderSize+1] ^= 0x10 // first event's payload
	dir := writeFiles(t, map[string][]byte{
		segmentName(1): seg,
		FileName:       rawLog(1, []int{2}, false),
	})
	w, _ := mustOpen(t, dir)
	checkHeight(t, w, 2, heightPayloads(2, 3))
	if _, err := w.ReplayFrom(1); !errors.Is(err, ErrChecksum) {
		t.Fatalf("ReplayFrom(1) over a damaged segment = %v, want ErrChecksum", err)
	}
}

func TestSegmentNames(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		segmentName(10): nil, segmentName(9): nil, "wal.1": nil, "wal.corrupt": nil, "wal.00000x": nil,
	})
	if got, want := segNames(t, dir), []string{segmentName(9), segmentName(10)}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if _, err := Files(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Files of a missing directory succeeded")
	}
}
