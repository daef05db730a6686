package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

func writeSignState(t *testing.T, path string, height int64) []byte {
	t.Helper()
	data := []byte(`{"height":"` + strconv.FormatInt(height, 10) + `","round":0,"step":0}`)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestResetStateKeepsSignState(t *testing.T) {
	home := initHome(t)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{cfg.BlockstoreDir(), cfg.WALDir(), cfg.AppDBDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "x"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := writeSignState(t, cfg.PrivValidatorStateFile(), 7)
	for _, cmd := range []string{"reset-state", "unsafe-reset-all"} {
		r := mustRun(t, cmd, "--home", home)
		if !strings.Contains(r.stdout, "kept "+cfg.PrivValidatorStateFile()) {
			t.Errorf("%s: %s", cmd, r.stdout)
		}
		entries, _ := os.ReadDir(cfg.DataDir())
		if len(entries) != 1 || entries[0].Name() != "priv_validator_state.json" {
			t.Fatalf("%s left %v in data/", cmd, entries)
		}
		if got, _ := os.ReadFile(cfg.PrivValidatorStateFile()); !bytes.Equal(got, state) {
			t.Fatalf("%s changed the last-sign state", cmd)
		}
		for _, p := range []string{cfg.PrivValidatorKeyFile(), cfg.NodeKeyFile(), cfg.GenesisFile(), cfg.ConfigFile()} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s removed %s", cmd, p)
			}
		}
	}
	for _, args := range [][]string{{"reset-state", "--unsafe"}, {"unsafe-reset-all", "--keep-sign-state=false"}} {
		writeSignState(t, cfg.PrivValidatorStateFile(), 7)
		r := mustRun(t, append(args, "--home", home)...)
		if !strings.Contains(r.stderr, "WARNING") {
			t.Errorf("%v: no warning", args)
		}
		var s struct {
			Height string `json:"height"`
		}
		data, _ := os.ReadFile(cfg.PrivValidatorStateFile())
		if err := json.Unmarshal(data, &s); err != nil || s.Height != "0" {
			t.Fatalf("%v: state %s (%v)", args, data, err)
		}
	}
}

func TestWALDump(t *testing.T) {
	home := initHome(t)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wal.Open(cfg.WALDir(), wal.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(wal.MinUserKind, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEndHeight(1); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "wal-dump", "--home", home)
	if !strings.Contains(r.stdout, "len=5") || !strings.Contains(r.stdout, "end-height=1") {
		t.Fatalf("wal-dump:\n%s", r.stdout)
	}
	// A damaged log is reported and the command fails.
	path := filepath.Join(cfg.WALDir(), wal.FileName)
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "wal-dump", path); r.code == 0 || !strings.Contains(r.stdout, "error") {
		t.Fatalf("damaged wal: exit %d\n%s", r.code, r.stdout)
	}
	if r := runCLI(t, nil, "wal-dump", filepath.Join(t.TempDir(), "none")); r.code == 0 {
		t.Fatal("missing wal accepted")
	}
}

// With db_dir pointing at the home itself, a reset must still not touch the
// keys, the config or the last-sign state.
func TestResetWithDataDirAtHome(t *testing.T) {
	home := initHome(t)
	setFileKey(t, home, `db_dir = "data"`, `db_dir = "."`)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.BlockstoreDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	state, _ := os.ReadFile(cfg.PrivValidatorStateFile())
	r := mustRun(t, "reset-state", "--home", home)
	if _, err := os.Stat(cfg.BlockstoreDir()); err == nil {
		t.Fatalf("block store not removed: %s", r.stdout)
	}
	for _, p := range []string{cfg.ConfigFile(), cfg.GenesisFile(), cfg.NodeKeyFile(), cfg.PrivValidatorKeyFile()} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("removed %s", p)
		}
	}
	if got, err := os.ReadFile(cfg.PrivValidatorStateFile()); err != nil || !bytes.Equal(got, state) {
		t.Fatalf("last-sign state changed: %v", err)
	}
}

func TestWALDumpSegments(t *testing.T) {
	home := initHome(t)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wal.Open(cfg.WALDir(), wal.Options{MaxFileSize: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= 3; h++ {
		if err := w.Write(wal.MinUserKind, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEndHeight(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := wal.Files(cfg.WALDir())
	if err != nil || len(files) != 2 {
		t.Fatalf("files %v (%v), want a rotated segment and the head", files, err)
	}
	r := mustRun(t, "wal-dump", "--home", home)
	seg := strings.Index(r.stdout, "file="+files[0]+"\n")
	head := strings.Index(r.stdout, "file="+files[1]+"\n")
	if seg < 0 || head < seg || !strings.Contains(r.stdout[seg:head], "end-height=3") ||
		!strings.Contains(r.stdout[head:], "end-height=3") {
		t.Fatalf("wal-dump:\n%s", r.stdout)
	}
	if r := mustRun(t, "wal-dump", files[1]); strings.Contains(r.stdout, "file=") || !strings.Contains(r.stdout, "end-height=3") {
		t.Fatalf("wal-dump of one file:\n%s", r.stdout)
	}
}

func TestResetStateWALOnly(t *testing.T) {
	home := initHome(t)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "reset-state", "--wal-only", "--home", home); r.code == 0 {
		t.Fatal("--wal-only without a WAL succeeded")
	}
	for _, d := range []string{cfg.BlockstoreDir(), cfg.WALDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "x"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if r := runCLI(t, nil, "reset-state", "--wal-only", "--unsafe", "--home", home); r.code == 0 {
		t.Fatal("--wal-only --unsafe accepted")
	}
	r := mustRun(t, "reset-state", "--wal-only", "--home", home)
	if _, err := os.Stat(cfg.WALDir()); err == nil {
		t.Fatalf("WAL still in place: %s", r.stdout)
	}
	moved, _ := filepath.Glob(cfg.WALDir() + ".moved-*")
	if len(moved) != 1 || !strings.Contains(r.stdout, moved[0]) {
		t.Fatalf("moved %v; output %s", moved, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(moved[0], "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.BlockstoreDir(), "x")); err != nil {
		t.Fatalf("--wal-only touched the block store: %v", err)
	}
}

// TestWALDumpMessages: --messages prints the signed votes and proposals a
// node logged, with full block IDs and signatures that verify.
func TestWALDumpMessages(t *testing.T) {
	home := initHome(t)
	runNodeUntil(t, home, 3)
	cfg, err := config.Load(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "wal-dump", "--messages", "--home", home).stdout
	voteRE := regexp.MustCompile(`(?m)^vote type=(prevote|precommit) height=(\d+) round=0 validator=([0-9A-F]{40}) block=([0-9A-F]{64}):1:([0-9A-F]{64}) timestamp=(\S+) signature=([0-9A-F]{128})$`)
	seen := map[string]bool{}
	for _, m := range voteRE.FindAllStringSubmatch(out, -1) {
		if m[3] != fmt.Sprintf("%X", pv.Address()) {
			t.Fatalf("vote of validator %s, want this node's %X:\n%s", m[3], pv.Address(), m[0])
		}
		v := types.Vote{Type: types.PrevoteType, Round: 0, ValidatorAddress: pv.Address()}
		if m[1] == "precommit" {
			v.Type = types.PrecommitType
		}
		v.Height, _ = strconv.ParseInt(m[2], 10, 64)
		hash, _ := hex.DecodeString(m[4])
		psh, _ := hex.DecodeString(m[5])
		copy(v.BlockID.Hash[:], hash)
		copy(v.BlockID.PartSetHeader.Hash[:], psh)
		v.BlockID.PartSetHeader.Total = 1
		if v.Timestamp, err = time.Parse(time.RFC3339Nano, m[6]); err != nil {
			t.Fatal(err)
		}
		sig, _ := hex.DecodeString(m[7])
		if !ed25519.Verify(pv.PubKey(), types.VoteSignBytes("c", &v), sig) {
			t.Fatalf("the printed vote's signature does not verify: %s", m[0])
		}
		seen[m[1]+" "+m[2]] = true
	}
	for h := 1; h <= 2; h++ {
		for _, typ := range []string{"prevote", "precommit"} {
			if !seen[fmt.Sprintf("%s %d", typ, h)] {
				t.Fatalf("no %s of height %d in:\n%s", typ, h, out)
			}
		}
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^proposal height=%d round=0 pol_round=-1 block=[0-9A-F]{64}:1:[0-9A-F]{64} timestamp=\S+ signature=[0-9A-F]{128}$`, h)).MatchString(out) {
			t.Fatalf("no proposal of height %d in:\n%s", h, out)
		}
	}
}
