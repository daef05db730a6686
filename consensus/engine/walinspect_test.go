package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/types"
)

// TestWALMessages writes a log with votes, a proposal and other records
// and reads back exactly the votes and the proposal, in order, also when
// the log ends in a torn record.
func TestWALMessages(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	b, id := testBlock(t)
	v1 := &types.Vote{Type: types.PrevoteType, Height: 3, Round: 0, BlockID: id, Timestamp: now, Signature: bytes.Repeat([]byte{1}, 64)}
	v2 := &types.Vote{Type: types.PrecommitType, Height: 3, Round: 0, Timestamp: now, ValidatorIndex: 1, Signature: bytes.Repeat([]byte{2}, 64)}
	prop := &types.Proposal{Height: 3, Round: 0, POLRound: -1, BlockID: id, Timestamp: now, Signature: bytes.Repeat([]byte{3}, 64)}

	dir := t.TempDir()
	w, err := wal.Open(dir, wal.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(kind wal.Kind, payload []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(kind, payload); err != nil {
			t.Fatal(err)
		}
	}
	write(kindStartHeight, encodeStartHeight(3, now), nil)
	rec, err := encodeProposal(prop, b, now)
	write(kindProposal, rec, err)
	rec, err = encodeVote(v1, now)
	write(kindVote, rec, err)
	write(kindTimeout, encodeTimeout(consensus.TimeoutFired{Height: 3, Round: 0, Step: consensus.StepPrevote, Now: now}), nil)
	rec, err = encodeVote(v2, now)
	write(kindVote, rec, err)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, wal.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for name, log := range map[string][]byte{"whole": data, "torn tail": append(data[:len(data):len(data)], 0, 0, 0)} {
		votes, props, err := WALMessages(bytes.NewReader(log), wal.DefaultMaxRecordSize)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(votes, []*types.Vote{v1, v2}) || !reflect.DeepEqual(props, []*types.Proposal{prop}) {
			t.Fatalf("%s: got votes %+v, proposals %+v", name, votes, props)
		}
	}
	// A damaged record in the middle is an error.
	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 0xff
	if _, _, err := WALMessages(bytes.NewReader(bad), wal.DefaultMaxRecordSize); err == nil {
		t.Fatal("a corrupt record was not reported")
	}
}
