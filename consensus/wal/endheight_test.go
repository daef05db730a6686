package wal

import (
	"errors"
	"testing"

	"github.com/bftnode/bftnode/internal/diskfs"
)

// TestWriteEndHeightNoSync: the marker stays buffered, so a crash before
// the next sync loses it (ReplayFrom of the next height then reports the
// height as not found, which recovery repairs); the next WriteSync makes it
// durable together with the records after it.
func TestWriteEndHeightNoSync(t *testing.T) {
	for _, synced := range []bool{false, true} {
		dir := t.TempDir()
		w, _ := mustOpen(t, dir)
		if err := w.WriteSync(kindEvent, payload(101)); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEndHeightNoSync(1); err != nil {
			t.Fatal(err)
		}
		if synced {
			if err := w.WriteSync(kindEvent, payload(201)); err != nil {
				t.Fatal(err)
			}
		}
		// A crash: reopen the directory while w's buffer never reached it.
		after, _ := mustOpen(t, dir)
		recs, err := after.ReplayFrom(2)
		if !synced {
			if !errors.Is(err, ErrHeightNotFound) {
				t.Fatalf("unsynced marker: ReplayFrom(2) = %d records, %v; want ErrHeightNotFound", len(recs), err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("synced: ReplayFrom(2): %v", err)
		}
		if len(recs) != 1 || string(recs[0].Payload) != string(payload(201)) {
			t.Fatalf("synced: ReplayFrom(2) = %v, want the one record after the marker", recs)
		}
	}
}

// TestWriteEndHeightNoSyncRotates: past MaxFileSize the marker is synced
// and the log rotated, so the new head starts from it.
func TestWriteEndHeightNoSyncRotates(t *testing.T) {
	dir := t.TempDir()
	w, _, err := openTest(t, dir, Options{MaxFileSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if err := w.Write(kindEvent, payload(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteEndHeightNoSync(1); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(diskfs.OS, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		t.Fatal("no rotated segment after the marker past MaxFileSize")
	}
	after, _ := mustOpen(t, dir)
	if recs, err := after.ReplayFrom(2); err != nil || len(recs) != 0 {
		t.Fatalf("after rotation: ReplayFrom(2) = %d records, %v; want none, nil", len(recs), err)
	}
}
