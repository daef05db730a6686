package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// The canonical-encoding vectors: inputs chosen here, outputs computed by
// CometBFT v0.40.0's own code, written to bftnode's types/testdata, where
// bftnode's unit tests (types/canonical_test.go) check that bftnode
// computes the same bytes. `go test -run TestChainVectors -update` rewrites
// the file; without -update the test fails when the file differs from what
// CometBFT computes, so the vectors can never drift from CometBFT's code.

var update = flag.Bool("update", false, "rewrite types/testdata/cometbft_vectors.json from CometBFT's code")

// vectorsPath is where bftnode's types tests read the vectors.
var vectorsPath = filepath.Join("..", "..", "types", "testdata", "cometbft_vectors.json")

// chainVectors is the file's layout (shared by bftnode's reader, which has
// its own copy of these types). Byte strings are hex (encoding/json's
// []byte is base64; hexBytes keeps the file readable).
type chainVectors struct {
	Comment   string           `json:"comment"`
	Votes     []voteVector     `json:"votes"`
	Proposals []proposalVector `json:"proposals"`
}

type blockIDVector struct {
	Hash       hexBytes `json:"hash"`
	PartsTotal uint32   `json:"parts_total"`
	PartsHash  hexBytes `json:"parts_hash"`
}

type voteVector struct {
	ChainID            string        `json:"chain_id"`
	Type               int32         `json:"type"`
	Height             int64         `json:"height"`
	Round              int32         `json:"round"`
	BlockID            blockIDVector `json:"block_id"`
	Timestamp          time.Time     `json:"timestamp"`
	Extension          hexBytes      `json:"extension"`
	SignBytes          hexBytes      `json:"sign_bytes"`
	ExtensionSignBytes hexBytes      `json:"extension_sign_bytes"`
}

type proposalVector struct {
	ChainID   string        `json:"chain_id"`
	Height    int64         `json:"height"`
	Round     int32         `json:"round"`
	POLRound  int32         `json:"pol_round"`
	BlockID   blockIDVector `json:"block_id"`
	Timestamp time.Time     `json:"timestamp"`
	SignBytes hexBytes      `json:"sign_bytes"`
}

func (v blockIDVector) proto() cmtproto.BlockID {
	return cmtproto.BlockID{Hash: v.Hash, PartSetHeader: cmtproto.PartSetHeader{Total: v.PartsTotal, Hash: v.PartsHash}}
}

// sampleBlockIDs are a nil block ID and two complete ones.
func sampleBlockIDs() []blockIDVector {
	return []blockIDVector{
		{},
		{Hash: sum("block-a"), PartsTotal: 1, PartsHash: sum("parts-a")},
		{Hash: sum("block-b"), PartsTotal: 70000, PartsHash: sum("parts-b")},
	}
}

// sampleTimes cover the zero time (year 1, as in absent commit sigs), a
// time before 1970, whole seconds and nanoseconds.
func sampleTimes() []time.Time {
	return []time.Time{
		{},
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 7, 16, 0, 1, 123_456_789, time.UTC),
	}
}

func signVectors() ([]voteVector, []proposalVector) {
	chains := []string{"", "interop-chain", "a-chain-id-of-exactly-fifty-characters-xxxxxxxxxxx"}
	var votes []voteVector
	var props []proposalVector
	i := 0
	for _, chain := range chains {
		for _, id := range sampleBlockIDs() {
			for _, ts := range sampleTimes() {
				i++
				typ := cmtproto.PrevoteType
				if i%2 == 0 {
					typ = cmtproto.PrecommitType
				}
				height, round := []int64{1, 300, 1 << 40}[i%3], int32([]int{0, 1, 1000}[i%3])
				var ext []byte
				if i%4 == 0 {
					ext = []byte("extension-" + chain)
				}
				pv := &cmtproto.Vote{Type: typ, Height: height, Round: round, BlockID: id.proto(), Timestamp: ts, Extension: ext}
				votes = append(votes, voteVector{
					ChainID: chain, Type: int32(typ), Height: height, Round: round, BlockID: id, Timestamp: ts, Extension: ext,
					SignBytes:          cmttypes.VoteSignBytes(chain, pv),
					ExtensionSignBytes: cmttypes.VoteExtensionSignBytes(chain, pv),
				})
				pol := round - 1
				pp := &cmtproto.Proposal{Type: cmtproto.ProposalType, Height: height, Round: round, PolRound: pol, BlockID: id.proto(), Timestamp: ts}
				props = append(props, proposalVector{
					ChainID: chain, Height: height, Round: round, POLRound: pol, BlockID: id, Timestamp: ts,
					SignBytes: cmttypes.ProposalSignBytes(chain, pp),
				})
			}
		}
	}
	return votes, props
}

// TestChainVectors computes the vectors with CometBFT's code and checks
// (or, with -update, writes) bftnode's copy.
func TestChainVectors(t *testing.T) {
	v := chainVectors{Comment: "Written by test/interop (go test -run TestChainVectors -update) from CometBFT v0.40.0's code; read by types/canonical_test.go."}
	v.Votes, v.Proposals = signVectors()
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(vectorsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (run `go test -run TestChainVectors -update` in test/interop)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what CometBFT computes: run `go test -run TestChainVectors -update` in test/interop and commit it", vectorsPath)
	}
}

// hexBytes is a byte string written as upper-case hex in JSON.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToUpper(hex.EncodeToString(h)))
}

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
