package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLightRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	hash := strings.Repeat("AB", 32)
	base := []string{"light", "my-chain", "--home-dir", dir}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no primary", []string{"--witnesses", "tcp://127.0.0.1:2"}, "--primary is required"},
		{"no witnesses", []string{"--primary", "tcp://127.0.0.1:1"}, "--witnesses is required"},
		{"trust level below 1/3", []string{"--primary", "tcp://127.0.0.1:1", "--witnesses", "tcp://127.0.0.1:2", "--trust-level", "1/4"}, "[1/3, 1]"},
		{"hash without height", []string{"--primary", "tcp://127.0.0.1:1", "--witnesses", "tcp://127.0.0.1:2", "--hash", hash}, "give a positive height"},
		{"short hash", []string{"--primary", "tcp://127.0.0.1:1", "--witnesses", "tcp://127.0.0.1:2", "--height", "3", "--hash", "ABCD"}, "64-hex-digit hash"},
		{"empty store, no trust", []string{"--primary", "tcp://127.0.0.1:1", "--witnesses", "tcp://127.0.0.1:2"}, "give the height and hash of a header you trust"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string(nil), base...), tc.args...)
			r := runCLI(t, nil, args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("bftnode %s: exit %d, stderr %q, want it to say %q", strings.Join(args, " "), r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestLightStoreUnderHome(t *testing.T) {
	if r := runCLI(t, nil, "light", "--primary", "tcp://127.0.0.1:1", "--witnesses", "tcp://127.0.0.1:2"); r.code == 0 || !strings.Contains(r.stderr, "accepts 1 arg") {
		t.Fatalf("light without a chain ID: exit %d, %s", r.code, r.stderr)
	}
	home := t.TempDir()
	// --home given: the store goes under it (the run fails later, on the
	// empty store, after opening it).
	r := runCLI(t, nil, "light", "c", "--home", filepath.Join(home, "lc"), "--primary", "tcp://127.0.0.1:1", "--witnesses", "tcp://127.0.0.1:2")
	if r.code == 0 {
		t.Fatal("light with an empty store and no trusted header succeeded")
	}
	if _, err := os.Stat(filepath.Join(home, "lc", "data", "light.db")); err != nil {
		t.Fatalf("--home: the store is not under it: %v\n%s", err, r.stderr)
	}
}
