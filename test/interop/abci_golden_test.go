package interop

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/gogoproto/proto"
)

// updateABCIGolden rewrites bftnode's ABCI golden frames with CometBFT's
// encoder. (Not plain -update: other golden writers share this test binary,
// and a flag can be defined only once.)
var updateABCIGolden = flag.Bool("update-abci", false, "rewrite app/abcisocket/testdata/golden with CometBFT's ABCI encoder")

// abciGoldenDir holds the frames bftnode's app/abcisocket tests compare
// their encoder and decoder with.
var abciGoldenDir = filepath.Join("..", "..", "app", "abcisocket", "testdata", "golden")

// TestABCIGoldenFrames checks that the golden ABCI frames bftnode tests
// itself against are exactly what CometBFT's abci/types.WriteMessage writes
// for the samples (the same messages bftnode's samples hold), and that no
// other frame lies there. With -update-abci it writes them.
func TestABCIGoldenFrames(t *testing.T) {
	want := map[string][]byte{}
	for name, req := range sampleRequests() {
		want["request_"+name+".hex"] = cometFrame(t, req)
	}
	for name, res := range sampleResponses() {
		want["response_"+name+".hex"] = cometFrame(t, res)
	}
	if *updateABCIGolden {
		writeGoldenDir(t, abciGoldenDir, want)
	}
	entries, err := os.ReadDir(abciGoldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok {
			t.Errorf("%s: no sample writes it; delete it, or run with -update-abci", e.Name())
		}
	}
	for name, frame := range want {
		text, err := os.ReadFile(filepath.Join(abciGoldenDir, name))
		if err != nil {
			t.Errorf("%v (run with -update-abci)", err)
			continue
		}
		if got := strings.TrimSpace(string(text)); got != hex.EncodeToString(frame) {
			t.Errorf("%s is not CometBFT's frame (run with -update-abci)\nfile     %s\nCometBFT %x", name, got, frame)
		}
	}
}

// cometFrame is msg framed by CometBFT's ABCI socket encoder.
func cometFrame(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := abci.WriteMessage(msg, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeGoldenDir replaces the .hex files of dir with frames, one hex line
// each.
func writeGoldenDir(t *testing.T, dir string, frames map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range old {
		if _, keep := frames[filepath.Base(path)]; !keep {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, frame := range frames {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(hex.EncodeToString(frame)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
