package privval

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/types"
)

const chainID = "test-chain"

type paths struct{ key, state string }

func newPaths(t testing.TB) paths {
	t.Helper()
	dir := t.TempDir()
	return paths{
		key:   filepath.Join(dir, "config", "priv_validator_key.json"),
		state: filepath.Join(dir, "data", "priv_validator_state.json"),
	}
}

func genPV(t testing.TB, p paths) *FilePV {
	t.Helper()
	pv, err := GenFilePV(p.key, p.state)
	if err != nil {
		t.Fatalf("GenFilePV: %v", err)
	}
	return pv
}

// readFile returns the content of the file at path.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeFile replaces the file at path with data.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// loadFails checks that loading the signer at p fails with want, and
// returns the error; what says what was done to the files.
func loadFails(t *testing.T, p paths, want error, what string) error {
	t.Helper()
	_, err := LoadFilePV(p.key, p.state)
	if !errors.Is(err, want) {
		t.Fatalf("%s: LoadFilePV = %v, want %v", what, err, want)
	}
	return err
}

func reload(t *testing.T, p paths) *FilePV {
	t.Helper()
	pv, err := LoadFilePV(p.key, p.state)
	if err != nil {
		t.Fatalf("LoadFilePV: %v", err)
	}
	return pv
}

func blockID(s string) types.BlockID {
	return types.BlockID{Hash: sha256.Sum256([]byte(s)), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte("parts " + s))}}
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

// vote builds an unsigned vote for block, or for nil if block is "".
func vote(pv Signer, typ types.SignedMsgType, h int64, r int32, block string, ts time.Time) *types.Vote {
	v := &types.Vote{Type: typ, Height: h, Round: r, Timestamp: ts, ValidatorAddress: pv.Address()}
	if block != "" {
		v.BlockID = blockID(block)
	}
	return v
}

func mustSign(t *testing.T, pv *FilePV, v *types.Vote) {
	t.Helper()
	if err := pv.SignVote(chainID, v); err != nil {
		t.Fatalf("SignVote(%s h=%d r=%d): %v", v.Type, v.Height, v.Round, err)
	}
}

func TestSignAndVerify(t *testing.T) {
	pv := genPV(t, newPaths(t))
	vals, err := types.NewValidatorSet([]*types.Validator{types.NewValidator(pv.PubKey(), 10)})
	if err != nil {
		t.Fatal(err)
	}
	v := vote(pv, types.PrevoteType, 1, 0, "A", t0)
	mustSign(t, pv, v)
	if err := types.VerifyVote(chainID, vals, v); err != nil {
		t.Fatalf("VerifyVote: %v", err)
	}
	if err := types.VerifyVote("other-chain", vals, v); !errors.Is(err, types.ErrBadSignature) {
		t.Fatalf("VerifyVote on another chain = %v, want ErrBadSignature", err)
	}
	p := &types.Proposal{Height: 1, Round: 1, POLRound: -1, BlockID: blockID("A"), Timestamp: t0}
	if err := pv.SignProposal(chainID, p); err != nil {
		t.Fatal(err)
	}
	if err := types.VerifyProposal(chainID, vals.Validators[0], p); err != nil {
		t.Fatalf("VerifyProposal: %v", err)
	}
}

func TestDoubleSignAfterRestartIsRefused(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	mustSign(t, pv, vote(pv, types.PrecommitType, 5, 2, "A", t0))
	prop := &types.Proposal{Height: 6, Round: 0, POLRound: -1, BlockID: blockID("A"), Timestamp: t0}
	if err := pv.SignProposal(chainID, prop); err != nil {
		t.Fatal(err)
	}

	pv = reload(t, p)
	if got, want := pv.LastSigned(), (HRS{6, 0, StepPropose}); got != want {
		t.Fatalf("LastSigned after reload = %v, want %v", got, want)
	}
	other := &types.Proposal{Height: 6, Round: 0, POLRound: -1, BlockID: blockID("B"), Timestamp: t0}
	if err := pv.SignProposal(chainID, other); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("conflicting proposal after restart = %v, want ErrDoubleSign", err)
	}
	if other.Signature != nil {
		t.Fatal("a refused proposal got a signature")
	}
	v := vote(pv, types.PrevoteType, 6, 0, "B", t0)
	mustSign(t, pv, v)
	pv = reload(t, p)
	for _, block := range []string{"A", ""} {
		v := vote(pv, types.PrevoteType, 6, 0, block, t0)
		if err := pv.SignVote(chainID, v); !errors.Is(err, ErrDoubleSign) || v.Signature != nil {
			t.Fatalf("conflicting prevote for %q after restart = %v, signature %x; want ErrDoubleSign and none", block, err, v.Signature)
		}
	}
}

func TestSameRequestReturnsSavedSignature(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	first := vote(pv, types.PrevoteType, 3, 1, "A", t0)
	mustSign(t, pv, first)
	for _, pv := range []*FilePV{pv, reload(t, p)} {
		again := vote(pv, types.PrevoteType, 3, 1, "A", t0)
		mustSign(t, pv, again)
		if !bytes.Equal(again.Signature, first.Signature) {
			t.Fatal("identical request got a different signature")
		}
	}
}

func TestTimestampOnlyChangeReturnsSavedSignatureAndTimestamp(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	vals, err := types.NewValidatorSet([]*types.Validator{types.NewValidator(pv.PubKey(), 1)})
	if err != nil {
		t.Fatal(err)
	}
	first := vote(pv, types.PrecommitType, 3, 1, "A", t0)
	mustSign(t, pv, first)
	for _, pv := range []*FilePV{pv, reload(t, p)} {
		later := vote(pv, types.PrecommitType, 3, 1, "A", t0.Add(1500*time.Millisecond))
		mustSign(t, pv, later)
		if !bytes.Equal(later.Signature, first.Signature) || !later.Timestamp.Equal(t0) {
			t.Fatalf("got signature %x at %v, want the saved one at %v", later.Signature, later.Timestamp, t0)
		}
		if err := types.VerifyVote(chainID, vals, later); err != nil {
			t.Fatalf("VerifyVote: %v", err)
		}
	}

	prop := &types.Proposal{Height: 4, Round: 0, POLRound: -1, BlockID: blockID("A"), Timestamp: t0}
	if err := pv.SignProposal(chainID, prop); err != nil {
		t.Fatal(err)
	}
	again := &types.Proposal{Height: 4, Round: 0, POLRound: -1, BlockID: blockID("A"), Timestamp: time.Now()}
	if err := pv.SignProposal(chainID, again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Signature, prop.Signature) || !again.Timestamp.Equal(t0) {
		t.Fatal("timestamp-only proposal change did not return the saved signature and timestamp")
	}
	if err := types.VerifyProposal(chainID, vals.Validators[0], again); err != nil {
		t.Fatalf("VerifyProposal: %v", err)
	}
	// A different POL round at the same timestamp is a different proposal.
	pol := &types.Proposal{Height: 4, Round: 0, POLRound: 0, BlockID: blockID("A"), Timestamp: t0}
	if err := pv.SignProposal(chainID, pol); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("proposal with another POL round = %v, want ErrDoubleSign", err)
	}
}

func TestOrderOfHeightRoundStep(t *testing.T) {
	pv := genPV(t, newPaths(t))
	mustSign(t, pv, vote(pv, types.PrevoteType, 5, 2, "A", t0))
	for _, tc := range []struct {
		name string
		typ  types.SignedMsgType
		h    int64
		r    int32
		ok   bool
	}{
		{"lower height", types.PrecommitType, 4, 9, false},
		{"lower round", types.PrecommitType, 5, 1, false},
		{"lower step", types.ProposalType, 5, 2, false},
		{"higher step", types.PrecommitType, 5, 2, true},
		{"step back after precommit", types.PrevoteType, 5, 2, false},
		{"higher round", types.ProposalType, 5, 3, true},
		{"higher height", types.PrevoteType, 6, 0, true},
		{"back a height", types.PrecommitType, 5, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sig []byte
			var err error
			if tc.typ == types.ProposalType {
				p := &types.Proposal{Height: tc.h, Round: tc.r, POLRound: -1, BlockID: blockID("B"), Timestamp: t0}
				err, sig = pv.SignProposal(chainID, p), p.Signature
			} else {
				v := vote(pv, tc.typ, tc.h, tc.r, "B", t0)
				err, sig = pv.SignVote(chainID, v), v.Signature
			}
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errors.Is(err, ErrDoubleSign):
				t.Fatalf("got %v, want ErrDoubleSign", err)
			case !tc.ok && sig != nil:
				t.Fatal("refused request got a signature")
			}
		})
	}
}

func TestHalfWrittenStateFileIsAnError(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	mustSign(t, pv, vote(pv, types.PrecommitType, 7, 0, "A", t0))
	slotted := readFile(t, p.state)
	legacy := []byte(`{"height": "7", "round": 0, "step": 3}`)
	for _, full := range [][]byte{slotted, legacy} {
		for cut := 0; cut < len(full); cut++ {
			if cut > 64 && cut < len(full)-64 && cut%61 != 0 {
				continue // every cut near the ends, a sample in between
			}
			writeFile(t, p.state, full[:cut])
			err := loadFails(t, p, ErrCorruptState, fmt.Sprintf("state cut at %d of %d bytes", cut, len(full)))
			if !strings.Contains(err.Error(), "reset-state") || !strings.Contains(err.Error(), p.state) {
				t.Fatalf("error does not tell the operator what to do: %v", err)
			}
		}
		writeFile(t, p.state, full)
		if got := reload(t, p).LastSigned(); got != (HRS{7, 0, StepPrecommit}) {
			t.Fatalf("LastSigned = %v", got)
		}
	}
}

func TestStrayTempFileLeavesOldStateValid(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	signed := vote(pv, types.PrevoteType, 2, 0, "A", t0)
	mustSign(t, pv, signed)
	// A crash after writing the temporary file for height 3, before the rename.
	stray := p.state + ".tmp-123456"
	writeFile(t, stray, []byte(`{"height": "3", "round": 0, "st`))
	pv = reload(t, p)
	if got := pv.LastSigned(); got != (HRS{2, 0, StepPrevote}) {
		t.Fatalf("LastSigned = %v, want height 2 prevote", got)
	}
	if err := pv.SignVote(chainID, vote(pv, types.PrevoteType, 2, 0, "B", t0)); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("conflicting vote = %v, want ErrDoubleSign", err)
	}
	mustSign(t, pv, vote(pv, types.PrevoteType, 3, 0, "A", t0))
}

func TestPersistFailureReleasesNoSignature(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The state's directory does not exist, so the temporary file cannot be
	// created (this works even when the tests run as root).
	pv, err := NewFilePV(priv, filepath.Join(t.TempDir(), "missing", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := vote(pv, types.PrevoteType, 1, 0, "A", t0)
	if err := pv.SignVote(chainID, v); err == nil || v.Signature != nil {
		t.Fatalf("SignVote = %v with signature %x; want an error and no signature", err, v.Signature)
	}
	if got := pv.LastSigned(); got != (HRS{}) {
		t.Fatalf("in-memory state advanced to %v without being saved", got)
	}
}

func TestFilePermissions(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	mustSign(t, pv, vote(pv, types.PrevoteType, 1, 0, "A", t0))
	for _, path := range []string{p.key, p.state} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, perm)
		}
	}
}

func TestGenLoadAndFileFormat(t *testing.T) {
	p := newPaths(t)
	pv, err := LoadOrGenFilePV(p.key, p.state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenFilePV(p.key, p.state); err == nil {
		t.Fatal("GenFilePV overwrote an existing key")
	}
	again, err := LoadOrGenFilePV(p.key, p.state)
	if err != nil {
		t.Fatal(err)
	}
	if again.Address() != pv.Address() || !bytes.Equal(again.PubKey(), pv.PubKey()) {
		t.Fatal("LoadOrGenFilePV generated a new key over an existing one")
	}
	mustSign(t, pv, vote(pv, types.PrevoteType, 12, 1, "A", t0))

	key := readFile(t, p.key)
	for _, want := range []string{fmt.Sprintf(`"address": "%X"`, addressBytes(pv.PubKey())), `"type": "tendermint/PubKeyEd25519"`, `"type": "tendermint/PrivKeyEd25519"`} {
		if !strings.Contains(string(key), want) {
			t.Errorf("key file lacks %s:\n%s", want, key)
		}
	}
	state := readFile(t, p.state)
	for _, want := range []string{`"height": "12"`, `"round": 1`, `"step": 2`, `"signature": "`, `"signbytes": "`} {
		if !strings.Contains(string(state), want) {
			t.Errorf("state file lacks %s:\n%s", want, state)
		}
	}
}

func TestBadKeyFileIsRejected(t *testing.T) {
	p := newPaths(t)
	genPV(t, p)
	key := readFile(t, p.key)
	other := newPaths(t)
	genPV(t, other)
	otherKey := readFile(t, other.key)
	// Take the address line from another key file.
	addrLine := func(b []byte) string { return strings.SplitN(string(b), "\n", 3)[1] }
	swapped := strings.Replace(string(key), addrLine(key), addrLine(otherKey), 1)
	for name, data := range map[string]string{
		"other address":  swapped,
		"truncated":      string(key[:len(key)/2]),
		"wrong type":     strings.Replace(string(key), "PrivKeyEd25519", "PrivKeySecp256k1", 1),
		"wrong pub type": strings.Replace(string(key), "PubKeyEd25519", "PubKeySecp256k1", 1),
	} {
		t.Run(name, func(t *testing.T) {
			writeFile(t, p.key, []byte(data))
			loadFails(t, p, ErrInvalidKey, name)
		})
	}
}

func TestResetState(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	mustSign(t, pv, vote(pv, types.PrecommitType, 9, 0, "A", t0))
	if err := ResetState(p.state, false); !errors.Is(err, ErrUnsafeNotConfirmed) {
		t.Fatalf("ResetState(unsafe=false) = %v, want ErrUnsafeNotConfirmed", err)
	}
	writeFile(t, p.state, []byte("{"))
	if err := ResetState(p.state, true); err != nil {
		t.Fatal(err)
	}
	pv = reload(t, p)
	if got := pv.LastSigned(); got != (HRS{}) {
		t.Fatalf("LastSigned after reset = %v", got)
	}
	mustSign(t, pv, vote(pv, types.PrevoteType, 1, 0, "B", t0))
}

func TestConcurrentIdenticalRequests(t *testing.T) {
	pv := genPV(t, newPaths(t))
	sigs := make(chan []byte, 8)
	for range cap(sigs) {
		go func() {
			v := vote(pv, types.PrevoteType, 1, 0, "A", t0)
			if err := pv.SignVote(chainID, v); err != nil {
				t.Error(err)
			}
			sigs <- v.Signature
		}()
	}
	first := <-sigs
	for range cap(sigs) - 1 {
		if sig := <-sigs; !bytes.Equal(sig, first) {
			t.Fatal("identical concurrent requests got different signatures")
		}
	}
}
