package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/rpc"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50 ticks.
	stat := "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 12 0 100 1000000 2000 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3.0 {
		t.Errorf("parseStatCPU = %v, %v; want 3 s", got, err)
	}
	for _, bad := range []string{"", "1234 no parens S 1", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 50 0"} {
		if _, err := parseStatCPU(bad); !errors.Is(err, ErrProcFormat) {
			t.Errorf("parseStatCPU(%q) = %v, want ErrProcFormat", bad, err)
		}
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tbftnode\nVmPeak:\t  900000 kB\nVmHWM:\t   47104 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n"
	if got, err := parseStatusKB(status, "VmHWM"); err != nil || got != 46<<20 {
		t.Errorf("VmHWM = %d, %v; want 46 MiB", got, err)
	}
	if got, err := parseStatusKB(status, "VmRSS"); err != nil || got != 40<<20 {
		t.Errorf("VmRSS = %d, %v; want 40 MiB", got, err)
	}
	for key, text := range map[string]string{"VmSwap": status, "Threads": status, "VmRSS": "VmRSS:\t-5 kB\n", "VmHWM": "VmHWM: 12 MB\n"} {
		if _, err := parseStatusKB(text, key); !errors.Is(err, ErrProcFormat) {
			t.Errorf("parseStatusKB(%s) = %v, want ErrProcFormat", key, err)
		}
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.RSSBytes <= 0 || s.HWMBytes < s.RSSBytes || s.CPUSeconds < 0 {
		t.Errorf("ReadProc(self) = %+v", s)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Errorf("ReadProc(-1) succeeded")
	}
}

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"x": 10000, "a/y": 5000, "a/b/z": 1} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Repeat("q", size)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	alloc, apparent, err := DiskUsage(dir)
	if err != nil || apparent != 15001 || alloc <= 0 {
		t.Errorf("DiskUsage = %d, %d, %v; want 15001 bytes written", alloc, apparent, err)
	}
	if _, _, err := DiskUsage(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing directory: %v, want 0 and no error", err)
	}
}

func TestWebsocketURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:26657":  "ws://127.0.0.1:26657/websocket",
		"https://node.example/":   "wss://node.example/websocket",
		"tcp://10.0.0.1:26657":    "ws://10.0.0.1:26657/websocket",
		"127.0.0.1:26657":         "ws://127.0.0.1:26657/websocket",
		"http://proxy:80/rpc/v1/": "ws://proxy:80/rpc/v1/websocket",
	} {
		if got, err := websocketURL(in); err != nil || got != want {
			t.Errorf("websocketURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x:1", "unix:///tmp/s", "http://", ""} {
		if got, err := websocketURL(bad); !errors.Is(err, ErrBadOptions) {
			t.Errorf("websocketURL(%q) = %q, %v; want ErrBadOptions", bad, got, err)
		}
	}
}

func TestParseNewBlockMessage(t *testing.T) {
	msg := func(ev string) []byte { return []byte(`{"jsonrpc":"2.0","id":"bench","result":` + ev + `}`) }
	// The shape CometBFT (and our rpc package) sends, trimmed.
	ev := `{"query":"tm.event='NewBlock'","data":{"type":"tendermint/event/NewBlock","value":{
		"block":{"header":{"chain_id":"c","height":"42","time":"2026-01-01T00:00:00Z"},
		"data":{"txs":["Zm9vPWJhcg==","YT1i"]},"evidence":{"evidence":[]},
		"last_commit":{"height":"41","round":2,"signatures":[]}},
		"block_id":{"hash":"AB"},"result_finalize_block":{"tx_results":[]}}},"events":{"tm.event":["NewBlock"]}}`
	b, ok, err := parseNewBlockMessage(msg(ev))
	if err != nil || !ok || b.Height != 42 || len(b.Txs) != 2 || string(b.Txs[0]) != "foo=bar" || string(b.Txs[1]) != "a=b" || b.LastCommitRound != 2 {
		t.Errorf("parseNewBlockMessage = %+v, %v, %v", b, ok, err)
	}
	// The subscription's acknowledgement and other events are skipped.
	for _, skip := range []string{`{}`, `{"query":"q","data":{"type":"tendermint/event/Tx","value":{}}}`} {
		if _, ok, err := parseNewBlockMessage(msg(skip)); ok || err != nil {
			t.Errorf("parseNewBlockMessage(%s) = %v, %v; want skipped", skip, ok, err)
		}
	}
	var rpcErr *rpc.Error
	if _, _, err := parseNewBlockMessage([]byte(`{"jsonrpc":"2.0","id":"bench","error":{"code":-32000,"message":"Server error"}}`)); !errors.As(err, &rpcErr) || rpcErr.Code != -32000 {
		t.Errorf("error response: %v, want its *rpc.Error", err)
	}
	for _, bad := range []string{
		`[`,
		`{"data":{"type":"tendermint/event/NewBlock","value":{}}}`,
		`{"data":{"type":"tendermint/event/NewBlock","value":{"block":{"header":{"height":"x"}}}}}`,
		`{"data":{"type":"tendermint/event/NewBlock","value":{"block":{"header":{"height":"1"},"data":{"txs":["!!"]}}}}}`,
	} {
		if _, _, err := parseNewBlockMessage(msg(bad)); !errors.Is(err, ErrBadBlock) {
			t.Errorf("parseNewBlockMessage(%s) = %v, want ErrBadBlock", bad, err)
		}
	}
	b, err = parseBlock([]byte(`{"block_id":{},"block":{"header":{"height":"7"},"data":{"txs":null},"last_commit":null}}`))
	if err != nil || b.Height != 7 || len(b.Txs) != 0 || b.LastCommitRound != 0 {
		t.Errorf("parseBlock = %+v, %v", b, err)
	}
}
