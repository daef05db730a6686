package privval

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bftnode/bftnode/types"
)

// signHeights signs a precommit at each height in turn.
func signHeights(t *testing.T, pv *FilePV, heights ...int64) {
	t.Helper()
	for _, h := range heights {
		mustSign(t, pv, vote(pv, types.PrecommitType, h, 0, "A", t0))
	}
}

func TestLegacyStateIsReadAndMigrated(t *testing.T) {
	p := newPaths(t)
	genPV(t, p)
	// A CometBFT state file that signed a precommit at height 7.
	legacy := []byte(`{"height": "7", "round": 0, "step": 3}`)
	writeFile(t, p.state, legacy)
	pv := reload(t, p)
	if got := pv.LastSigned(); got != (HRS{7, 0, StepPrecommit}) {
		t.Fatalf("LastSigned = %v, want height 7 precommit", got)
	}
	if err := pv.SignVote(chainID, vote(pv, types.PrevoteType, 7, 0, "A", t0)); !errors.Is(err, ErrDoubleSign) {
		t.Fatalf("prevote below the legacy state = %v, want ErrDoubleSign", err)
	}
	signHeights(t, pv, 8)
	if data := readFile(t, p.state); len(data) != 2*slotSize || !bytes.HasPrefix(data[slotSize:], []byte(slotMagic)) {
		t.Fatalf("state file after the first signature is not in the slot format:\n%q", data)
	}
	signHeights(t, pv, 9, 10)
	if got := reload(t, p).LastSigned(); got != (HRS{10, 0, StepPrecommit}) {
		t.Fatalf("LastSigned after reload = %v, want height 10 precommit", got)
	}
	entries, err := os.ReadDir(filepath.Dir(p.state))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("state directory holds %d entries, want only the state file", len(entries))
	}
}

func TestTornSlotFallsBackToTheOtherSlot(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	signHeights(t, pv, 1, 2, 3)
	saved := readFile(t, p.state)
	newest := pv.file.seq % 2
	// A crash while saving height 4 tore its slot (the older one): the
	// newest slot, height 3, still rules.
	for _, torn := range []int{0, len(slotMagic) + 3, 100, slotSize - 1} {
		data := bytes.Clone(saved)
		off := int((1-newest)*slotSize) + torn
		data[off] ^= 0xff
		writeFile(t, p.state, data)
		if got := reload(t, p).LastSigned(); got != (HRS{3, 0, StepPrecommit}) {
			t.Fatalf("older slot torn at %d: LastSigned = %v, want height 3", torn, got)
		}
	}
	// Tearing the newest slot falls back to height 2; that is what a crash
	// while saving height 3 leaves, before its signature was released.
	data := bytes.Clone(saved)
	data[int(newest*slotSize)+200] ^= 0xff
	writeFile(t, p.state, data)
	pv = reload(t, p)
	if got := pv.LastSigned(); got != (HRS{2, 0, StepPrecommit}) {
		t.Fatalf("newest slot torn: LastSigned = %v, want height 2", got)
	}
	// Saving goes to the torn slot, never over the valid one.
	signHeights(t, pv, 3)
	if got := reload(t, p).LastSigned(); got != (HRS{3, 0, StepPrecommit}) {
		t.Fatalf("after re-signing height 3: LastSigned = %v", got)
	}
	// With both slots damaged the file is corrupt.
	data = bytes.Clone(saved)
	data[200] ^= 0xff
	data[slotSize+200] ^= 0xff
	writeFile(t, p.state, data)
	loadFails(t, p, ErrCorruptState, "both slots damaged")
}

func TestSlotInTheWrongPlaceIsRejected(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	signHeights(t, pv, 1)
	data := readFile(t, p.state)
	// Swap the slots: save 1 in slot 0 and an empty slot 1.
	swapped := append(bytes.Clone(data[slotSize:]), data[:slotSize]...)
	writeFile(t, p.state, swapped)
	loadFails(t, p, ErrCorruptState, "save 1 in slot 0")
}

func TestInPlaceSaveFailureReleasesNoSignature(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	signHeights(t, pv, 1)
	// Replace the state file by a directory, so the in-place write fails
	// (also when the tests run as root).
	if err := os.Remove(p.state); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.state, 0o700); err != nil {
		t.Fatal(err)
	}
	v := vote(pv, types.PrecommitType, 2, 0, "A", t0)
	if err := pv.SignVote(chainID, v); err == nil || v.Signature != nil {
		t.Fatalf("SignVote = %v with signature %x; want an error and no signature", err, v.Signature)
	}
	if got := pv.LastSigned(); got != (HRS{1, 0, StepPrecommit}) {
		t.Fatalf("in-memory state advanced to %v without being saved", got)
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"height": "7", "round": 0, "step": 3}`))
	slot, err := encodeSlot(lastSignState{Height: 3, Round: 1, Step: StepPrevote}, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(make([]byte, slotSize), slot...))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, seq, slotted, err := parseState(data)
		if err != nil {
			return
		}
		if err := s.validate(); err != nil {
			t.Fatalf("parsed an invalid state: %v", err)
		}
		if slotted {
			again, err := encodeSlot(s, seq)
			if err != nil {
				t.Fatal(err)
			}
			if _, n, err := decodeSlot(again); err != nil || n != seq {
				t.Fatalf("re-encoded slot decodes to seq %d, %v", n, err)
			}
		}
	})
}

func TestLargestProposalFitsASlot(t *testing.T) {
	p := newPaths(t)
	pv := genPV(t, p)
	chain := string(bytes.Repeat([]byte("c"), 50)) // the longest chain ID
	prop := &types.Proposal{Height: 1<<62 - 1, Round: 1<<31 - 1, POLRound: 1<<31 - 2, BlockID: blockID("A"), Timestamp: t0}
	if err := pv.SignProposal(chain, prop); err != nil {
		t.Fatal(err)
	}
	signed := pv.LastSigned()
	if got := reload(t, p).LastSigned(); got != signed {
		t.Fatalf("LastSigned after reload = %v, want %v", got, signed)
	}
}
