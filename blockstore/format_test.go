package blockstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestFormatVersion: a new store is marked with FormatVersion and reopens;
// a store without the mark but with data (written by an older bftnode), or
// with another version, is refused with an error that says what to do.
func TestFormatVersion(t *testing.T) {
	reopenAfter := func(t *testing.T, edit func(s *Store)) error {
		t.Helper()
		be := backends(t)[0]
		s, err := Open(be.dir, be.opts)
		if err != nil {
			t.Fatal(err)
		}
		edit(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(be.dir, be.opts)
		if err == nil {
			t.Cleanup(func() { _ = s.Close() })
		}
		return err
	}
	set := func(key, v []byte) func(s *Store) {
		return func(s *Store) {
			if err := s.db.Set(key, v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := reopenAfter(t, func(*Store) {}); err != nil {
		t.Fatalf("a new store does not reopen: %v", err)
	}
	for name, edit := range map[string]func(*Store){
		"format 1 (no mark)": func(s *Store) {
			set(storeStateKey(), []byte{0x08, 0x01, 0x10, 0x05})(s)
			if err := s.db.Delete(formatKey(), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		},
		"format 3": set(formatKey(), []byte{0x08, 0x03}),
	} {
		t.Run(name, func(t *testing.T) {
			err := reopenAfter(t, edit)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "bftnode unsafe-reset-all") {
				t.Fatalf("got %v, want ErrFormat that suggests unsafe-reset-all", err)
			}
		})
	}
}
