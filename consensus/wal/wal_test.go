package wal

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kindEvent = MinUserKind

// openTest opens the WAL in dir with a logger writing into the returned buffer.
func openTest(t *testing.T, dir string, opts Options) (*WAL, *bytes.Buffer, error) {
	t.Helper()
	var logs bytes.Buffer
	w, err := Open(dir, opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err == nil {
		t.Cleanup(func() { _ = w.Close() })
	}
	return w, &logs, err
}

func mustOpen(t *testing.T, dir string) (*WAL, *bytes.Buffer) {
	t.Helper()
	w, logs, err := openTest(t, dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return w, logs
}

func payload(i int) []byte { return []byte(fmt.Sprintf("event-%03d", i)) }

// writeHeights writes n records for each of heights 1..heights, each height
// closed by its end marker except the last.
func writeHeights(t *testing.T, w *WAL, heights, n int) {
	t.Helper()
	for h := 1; h <= heights; h++ {
		for i := range n {
			if err := w.Write(kindEvent, payload(h*100+i)); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		if h < heights {
			if err := w.WriteEndHeight(int64(h)); err != nil {
				t.Fatalf("WriteEndHeight: %v", err)
			}
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func checkHeight(t *testing.T, w *WAL, h int64, want [][]byte) {
	t.Helper()
	recs, err := w.ReplayFrom(h)
	if err != nil {
		t.Fatalf("ReplayFrom(%d): %v", h, err)
	}
	if len(recs) != len(want) {
		t.Fatalf("ReplayFrom(%d): %d records, want %d", h, len(recs), len(want))
	}
	for i, r := range recs {
		if r.Kind != kindEvent || !bytes.Equal(r.Payload, want[i]) {
			t.Fatalf("ReplayFrom(%d)[%d] = kind %d %q, want %q", h, i, r.Kind, r.Payload, want[i])
		}
	}
}

func heightPayloads(h, n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, payload(h*100+i))
	}
	return out
}

func TestRoundTripAndEndHeightSearch(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpen(t, dir)
	writeHeights(t, w, 4, 5)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, logs := mustOpen(t, dir)
	for h := 1; h <= 4; h++ {
		checkHeight(t, w, int64(h), heightPayloads(h, 5))
	}
	if _, err := w.ReplayFrom(6); !errors.Is(err, ErrHeightNotFound) {
		t.Fatalf("ReplayFrom(6) = %v, want ErrHeightNotFound", err)
	}
	// Height 4 is open (no marker 4 yet), so height 5 has no start.
	if _, err := w.ReplayFrom(5); !errors.Is(err, ErrHeightNotFound) {
		t.Fatalf("ReplayFrom(5) = %v, want ErrHeightNotFound", err)
	}
	if logs.Len() != 0 {
		t.Fatalf("clean reopen logged: %s", logs)
	}
}

func TestInitialHeight(t *testing.T) {
	w, _, err := openTest(t, t.TempDir(), Options{InitialHeight: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(kindEvent, payload(1)); err != nil {
		t.Fatal(err)
	}
	checkHeight(t, w, 10, [][]byte{payload(1)})
}

func TestReplayIncludesBufferedRecords(t *testing.T) {
	w, _ := mustOpen(t, t.TempDir())
	if err := w.Write(kindEvent, payload(1)); err != nil {
		t.Fatal(err)
	}
	checkHeight(t, w, 1, [][]byte{payload(1)})
}

// build writes three heights and returns the file's bytes and the offset of
// the last record.
func build(t *testing.T) (data []byte, lastStart int64) {
	t.Helper()
	dir := t.TempDir()
	w, _ := mustOpen(t, dir)
	writeHeights(t, w, 3, 4)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	last := payload(3*100 + 3)
	return data, int64(len(data) - HeaderSize - len(last))
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fileSize(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// checkTruncated opens a damaged log and checks that it was cut back to
// lastStart, with a warning, and that the records before it survive.
func checkTruncated(t *testing.T, dir string, damagedSize, lastStart int64) {
	t.Helper()
	w, logs := mustOpen(t, dir)
	if got := fileSize(t, dir); got != lastStart {
		t.Fatalf("size after open = %d, want %d", got, lastStart)
	}
	want := fmt.Sprintf("dropped_bytes=%d", damagedSize-lastStart)
	if !strings.Contains(logs.String(), "WARN") || !strings.Contains(logs.String(), want) {
		t.Fatalf("log %q lacks a warning with %s", logs, want)
	}
	checkHeight(t, w, 2, heightPayloads(2, 4))
	checkHeight(t, w, 3, heightPayloads(3, 3))
}

func TestTruncatedTailAtEveryOffset(t *testing.T) {
	data, lastStart := build(t)
	for cut := lastStart + 1; cut < int64(len(data)); cut++ {
		t.Run(fmt.Sprint(cut-lastStart), func(t *testing.T) {
			checkTruncated(t, writeFile(t, data[:cut]), cut, lastStart)
		})
	}
}

func TestCorruptLastRecordIsTruncated(t *testing.T) {
	data, lastStart := build(t)
	for name, at := range map[string]int64{
		"checksum": lastStart,
		"length":   lastStart + 7,
		"kind":     lastStart + 8,
		"payload":  int64(len(data) - 1),
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Clone(data)
			bad[at] ^= 0x01
			checkTruncated(t, writeFile(t, bad), int64(len(bad)), lastStart)
		})
	}
}

func TestZeroFilledTailIsTruncated(t *testing.T) {
	data, _ := build(t)
	end := int64(len(data))
	data = append(data, make([]byte, 4096)...)
	w, logs := mustOpen(t, writeFile(t, data))
	if !strings.Contains(logs.String(), "dropped_bytes=4096") {
		t.Fatalf("log %q lacks the dropped bytes", logs)
	}
	if got := fileSize(t, filepath.Dir(w.Path())); got != end {
		t.Fatalf("size = %d, want %d", got, end)
	}
}

func TestCorruptMiddleIsAnError(t *testing.T) {
	data, _ := build(t)
	// The first record is the height-0 marker; damage the second.
	second := int64(HeaderSize + 8)
	for name, at := range map[string]int64{
		"payload": second + HeaderSize + 2,
		"length":  second + 5,
		"kind":    second + 8,
	} {
		t.Run(name, func(t *testing.T) {
			bad := bytes.Clone(data)
			bad[at] ^= 0x40
			dir := writeFile(t, bad)
			_, _, err := openTest(t, dir, Options{})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			for _, want := range []string{fmt.Sprintf("offset %d", second), "reset-state --wal-only"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got := fileSize(t, dir); got != int64(len(bad)) {
				t.Fatalf("Open changed the file: size %d, want %d", got, len(bad))
			}
		})
	}
}

func TestReopenAndAppendAfterTruncation(t *testing.T) {
	data, lastStart := build(t)
	dir := writeFile(t, data[:lastStart+3])
	w, _ := mustOpen(t, dir)
	if err := w.WriteSync(kindEvent, payload(999)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, logs := mustOpen(t, dir)
	if logs.Len() != 0 {
		t.Fatalf("second reopen logged: %s", logs)
	}
	checkHeight(t, w, 3, append(heightPayloads(3, 3), payload(999)))
}

func TestOversizeRecordRejected(t *testing.T) {
	w, _, err := openTest(t, t.TempDir(), Options{MaxRecordSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(kindEvent, make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Write(101 bytes) = %v, want ErrTooLarge", err)
	}
	if err := w.WriteSync(kindEvent, make([]byte, 100)); err != nil {
		t.Fatalf("Write(100 bytes) = %v", err)
	}
	// Not sticky: a too-large record is refused before anything is written.
	if err := w.Write(kindEvent, payload(1)); err != nil {
		t.Fatal(err)
	}
}

func TestReservedKindsAndClose(t *testing.T) {
	w, _ := mustOpen(t, t.TempDir())
	for _, k := range []Kind{0, KindEndHeight, MinUserKind - 1} {
		if err := w.Write(k, nil); !errors.Is(err, ErrBadKind) {
			t.Errorf("Write(kind %d) = %v, want ErrBadKind", k, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(kindEvent, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestFilePermissions(t *testing.T) {
	w, _ := mustOpen(t, t.TempDir())
	st, err := os.Stat(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Fatalf("mode %v, want 0600", perm)
	}
}

func TestDump(t *testing.T) {
	data, lastStart := build(t)
	var out strings.Builder
	if err := Dump(bytes.NewReader(data), &out, 0); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+4+1+4+1+4 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if lines[0] != "offset=0 kind=1 len=8 end-height=0" {
		t.Errorf("first line %q", lines[0])
	}
	if want := fmt.Sprintf("offset=%d kind=%d len=9", lastStart, kindEvent); lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	out.Reset()
	if err := Dump(bytes.NewReader(data[:len(data)-1]), &out, 0); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Dump of a torn log = %v, want ErrTruncated", err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("offset=%d error:", lastStart)) {
		t.Fatalf("dump does not show the bad record:\n%s", out.String())
	}
}
