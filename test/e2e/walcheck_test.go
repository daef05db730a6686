package e2e

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/types"
)

// signKey names one signing slot: a validator's vote of one type in one
// (height, round), or the proposal of a (height, round) (val empty, typ 0).
type signKey struct {
	height int64
	round  int32
	typ    types.SignedMsgType
	val    string
}

// signed is the first message seen in a slot.
type signed struct {
	what  string // block ID (and POL round of a proposal)
	sig   string
	where string
}

// walBook holds every vote and proposal of every node's consensus WAL:
// each node logs its own messages and every one it received, of every
// round, so this sees prevotes, precommits and proposals that no commit
// shows.
type walBook struct {
	msgs       map[signKey]signed
	votes      int // vote records read
	proposals  int // proposal records read
	violations []signViolation
}

func newWALBook() *walBook { return &walBook{msgs: map[signKey]signed{}} }

func (b *walBook) note(k signKey, s signed) {
	old, ok := b.msgs[k]
	kind := "proposal"
	if k.typ != 0 {
		kind = fmt.Sprintf("vote type %d of validator %s", k.typ, k.val)
	}
	switch {
	case !ok:
		b.msgs[k] = s
	case old.what != s.what:
		b.violations = append(b.violations, signViolation{k.val, fmt.Sprintf("double sign: %s at height %d round %d: %s (%s) and %s (%s)",
			kind, k.height, k.round, old.what, old.where, s.what, s.where)})
	case old.sig != s.sig:
		b.violations = append(b.violations, signViolation{k.val, fmt.Sprintf("signed twice: %s at height %d round %d for %s has two signatures (%s, %s)",
			kind, k.height, k.round, s.what, old.where, s.where)})
	}
}

func blockIDString(id types.BlockID) string {
	if id.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%X/%d/%X", id.Hash[:], id.PartSetHeader.Total, id.PartSetHeader.Hash[:])
}

// addWAL reads the WAL of the node in home (which must not be running).
func (b *walBook) addWAL(name, home string) error {
	// The rotated segments, oldest first, then the head. A rotation
	// removes the older segments: what remains is the recent log.
	files, err := wal.Files(filepath.Join(home, "data", "cs.wal"))
	if err != nil {
		return err
	}
	for _, path := range files {
		if err := b.addWALFile(name+" WAL "+filepath.Base(path), path); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (b *walBook) addWALFile(where, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	votes, proposals, err := engine.WALMessages(f, wal.DefaultMaxRecordSize)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range votes {
		b.votes++
		b.note(signKey{v.Height, v.Round, v.Type, fmt.Sprintf("%X", v.ValidatorAddress[:])},
			signed{what: blockIDString(v.BlockID), sig: fmt.Sprintf("%X", v.Signature), where: where})
	}
	for _, p := range proposals {
		b.proposals++
		b.note(signKey{height: p.Height, round: p.Round},
			signed{what: fmt.Sprintf("%s pol %d", blockIDString(p.BlockID), p.POLRound), sig: fmt.Sprintf("%X", p.Signature), where: where})
	}
	return nil
}
