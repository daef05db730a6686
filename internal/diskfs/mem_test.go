package diskfs

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
)

// TestMemCrashKeepsSyncedAndTearsTheRest: after a crash a file holds what
// its last sync made durable, followed by at most a prefix of what was
// appended since; over many crashes some keep none of the tail, some part
// of it.
func TestMemCrashKeepsSyncedAndTearsTheRest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	synced, tail := []byte("durable record|"), []byte("appended but not synced")
	var none, part int
	for range 200 {
		m := NewMem()
		f, err := m.OpenFile("d/wal", os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(synced); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(tail); err != nil {
			t.Fatal(err)
		}
		m.Crash(rng)
		got, err := m.ReadFile("d/wal")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, synced) || !bytes.HasPrefix(tail, got[len(synced):]) {
			t.Fatalf("after the crash the file holds %q, want %q followed by a prefix of %q", got, synced, tail)
		}
		switch len(got) - len(synced) {
		case 0:
			none++
		case len(tail):
		default:
			part++
		}
	}
	if none == 0 || part == 0 {
		t.Fatalf("over 200 crashes %d lost the whole tail and %d kept part of it; want both to happen", none, part)
	}
}

// TestMemCrashOverwriteInPlace: an unsynced overwrite survives a crash
// sector by sector, old or new, and a synced one survives whole.
func TestMemCrashOverwriteInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := NewMem()
	f, err := m.OpenFile("state", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte{'a'}, 2*sectorSize)
	if _, err := f.Write(old); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{'b'}, 2*sectorSize), 0); err != nil {
		t.Fatal(err)
	}
	m.Crash(rng)
	got, _ := m.ReadFile("state")
	for i := 0; i < len(got); i += sectorSize {
		s := got[i : i+sectorSize]
		if !bytes.Equal(s, old[:sectorSize]) && !bytes.Equal(s, bytes.Repeat([]byte{'b'}, sectorSize)) {
			t.Fatalf("sector %d is a mix within the sector: %q", i/sectorSize, s)
		}
	}
	f, _ = m.OpenFile("state", os.O_RDWR, 0)
	want := bytes.Repeat([]byte{'c'}, 2*sectorSize)
	if _, err := f.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	m.Crash(rng)
	if got, _ := m.ReadFile("state"); !bytes.Equal(got, want) {
		t.Fatalf("a synced overwrite was lost: %q", got)
	}
}

// TestMemSyncedContains: only what a sync made durable is found, not what
// was written since (appended or overwritten in place), nor anything in a
// file that does not exist.
func TestMemSyncedContains(t *testing.T) {
	m := NewMem()
	if m.SyncedContains("log", []byte("a")) {
		t.Fatal("found content in a missing file")
	}
	f, err := m.OpenFile("log", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("first record|")); err != nil {
		t.Fatal(err)
	}
	if m.SyncedContains("log", []byte("first")) {
		t.Fatal("found a record that was written but never synced")
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("second record|")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("FIRST"), 0); err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]bool{"first record|": true, "FIRST": false, "second": false, "record|": true} {
		if got := m.SyncedContains("./log", []byte(sub)); got != want {
			t.Errorf("SyncedContains(%q) = %v after syncing %q and writing more, want %v", sub, got, "first record|", want)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if !m.SyncedContains("log", []byte("FIRST record|second record|")) {
		t.Errorf("after the second sync the whole content is not found")
	}
}
