package privval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"

	"github.com/bftnode/bftnode/internal/diskfs"
)

// The state file has two formats.
//
// The legacy format is CometBFT's: one JSON object. GenFilePV and
// ResetState write it (the fresh state), and a state file from CometBFT or
// an older bftnode is in it. It can only be replaced whole, atomically (see
// diskfs.WriteAtomic), which costs a new file, two fsyncs and a rename.
//
// The slot format is what the first signature turns the file into, once,
// atomically; every later signature then updates it in place with one
// write and one fdatasync. The file is two slots of slotSize bytes (each
// its own 4 KiB block, so a write to one never touches the other's
// sectors). A slot holds a header line, "<slotMagic> seq=N len=L
// crc32c=XXXXXXXX", then L bytes of the legacy JSON object, then zeros.
// The CRC-32C covers the header line up to " crc32c=" and the JSON. Save
// number N lives in slot N%2, so a save always overwrites the older slot;
// a load takes the valid slot with the higher sequence number.
//
// A crash in the middle of a save can tear only the slot being written,
// whose signature was never released (a signature is released only once
// its save has returned), so falling back to the other slot is safe. A
// file of any other length, or with neither slot valid, is corrupt.
const (
	slotSize  = 4096
	slotMagic = "bftnode-privval-state-v1"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// stateFile is the last-sign state file at path: its format and the
// sequence number of its newest slot.
type stateFile struct {
	fs      diskfs.FS
	path    string
	slotted bool   // in the slot format (else legacy or missing)
	seq     uint64 // the newest slot's sequence number, when slotted
}

// openState loads the state file at path. A missing file is the fresh
// state; any other failure is ErrCorruptState with what the operator
// should do.
func openState(fsys diskfs.FS, path string) (*stateFile, lastSignState, error) {
	f := &stateFile{fs: fsys, path: path}
	data, err := fsys.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, lastSignState{}, nil
	}
	var s lastSignState
	if err == nil {
		s, f.seq, f.slotted, err = parseState(data)
	}
	if err != nil {
		return nil, lastSignState{}, fmt.Errorf("%w %s: %v. It may have been half-written or damaged; "+
			"do not delete it, since a missing state file means this validator never signed and it could then double-sign. "+
			"Restore it from a backup, or wait until the chain is past the last height this validator signed "+
			"and reset it with `bftnode reset-state --unsafe`", ErrCorruptState, path, err)
	}
	return f, s, nil
}

// ParseLastSigned is the height, round and step of the last-sign state
// file whose content is data (in either format); empty data is the fresh
// state. The simulator reads it off a disk's durable content.
func ParseLastSigned(data []byte) (HRS, error) {
	if len(data) == 0 {
		return HRS{}, nil
	}
	s, _, _, err := parseState(data)
	if err != nil {
		return HRS{}, err
	}
	return s.hrs(), nil
}

// parseState decodes a state file in either format and says which, with
// the newest slot's sequence number for the slot format.
func parseState(data []byte) (s lastSignState, seq uint64, slotted bool, err error) {
	if !bytes.HasPrefix(data, []byte(slotMagic)) &&
		(len(data) <= slotSize || !bytes.HasPrefix(data[slotSize:], []byte(slotMagic))) {
		s, err = decodeLegacy(data)
		return s, 0, false, err
	}
	if len(data) != 2*slotSize {
		return s, 0, true, fmt.Errorf("slot-format file of %d bytes, want %d", len(data), 2*slotSize)
	}
	found := false
	var errs [2]error
	for i := range 2 {
		ss, n, err := decodeSlot(data[i*slotSize : (i+1)*slotSize])
		if err == nil && n%2 != uint64(i) {
			err = fmt.Errorf("sequence %d in the wrong slot", n)
		}
		if errs[i] = err; err == nil && (!found || n > seq) {
			s, seq, found = ss, n, true
		}
	}
	if !found {
		return lastSignState{}, 0, true, fmt.Errorf("neither slot is valid: %v; %v", errs[0], errs[1])
	}
	return s, seq, true, nil
}

func decodeLegacy(data []byte) (lastSignState, error) {
	var s lastSignState
	if err := json.Unmarshal(data, &s); err != nil {
		return lastSignState{}, err
	}
	if err := s.validate(); err != nil {
		return lastSignState{}, err
	}
	return s, nil
}

// slotPrefix is the checksummed start of a slot's header line.
func slotPrefix(seq uint64, n int) string {
	return fmt.Sprintf("%s seq=%d len=%d", slotMagic, seq, n)
}

// encodeSlot is the slot holding s as save number seq.
func encodeSlot(s lastSignState, seq uint64) ([]byte, error) {
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("privval: encoding last-sign state: %w", err)
	}
	prefix := slotPrefix(seq, len(body))
	sum := crc32.Update(crc32.Checksum([]byte(prefix), crc32c), crc32c, body)
	slot := make([]byte, slotSize)
	n := copy(slot, fmt.Sprintf("%s crc32c=%08x\n", prefix, sum))
	if n+len(body) > slotSize {
		return nil, fmt.Errorf("privval: last-sign state of %d bytes does not fit a %d-byte slot", len(body), slotSize)
	}
	copy(slot[n:], body)
	return slot, nil
}

// decodeSlot checks one slot and returns its state and sequence number.
func decodeSlot(slot []byte) (lastSignState, uint64, error) {
	line, rest, ok := bytes.Cut(slot, []byte("\n"))
	if !ok {
		return lastSignState{}, 0, errors.New("slot without a header line")
	}
	var seq uint64
	var n int
	var sum uint32
	if _, err := fmt.Sscanf(string(line), slotMagic+" seq=%d len=%d crc32c=%08x", &seq, &n, &sum); err != nil {
		return lastSignState{}, 0, fmt.Errorf("slot header: %v", err)
	}
	prefix := slotPrefix(seq, n)
	switch {
	case string(line) != fmt.Sprintf("%s crc32c=%08x", prefix, sum):
		return lastSignState{}, 0, errors.New("slot header not in canonical form")
	case n < 0 || n > len(rest):
		return lastSignState{}, 0, fmt.Errorf("slot body of %d bytes overruns the slot", n)
	}
	body := rest[:n]
	if got := crc32.Update(crc32.Checksum([]byte(prefix), crc32c), crc32c, body); got != sum {
		return lastSignState{}, 0, fmt.Errorf("slot %d checksum %08x, want %08x", seq, got, sum)
	}
	s, err := decodeLegacy(body)
	return s, seq, err
}

// save makes s the durable last-sign state. The first save turns the file
// into the slot format atomically; later ones overwrite the older slot in
// place and fdatasync it. If save fails, the file still holds the last
// state saved, and save may be tried again.
func (f *stateFile) save(s lastSignState) error {
	next := f.seq + 1
	slot, err := encodeSlot(s, next)
	if err != nil {
		return err
	}
	off := int64(next%2) * slotSize
	if !f.slotted {
		whole := make([]byte, 2*slotSize)
		copy(whole[off:], slot)
		if err := diskfs.WriteAtomic(f.fs, f.path, whole); err != nil {
			return fmt.Errorf("privval: %w", err)
		}
		f.slotted = true
	} else if err := writeInPlace(f.fs, f.path, off, slot); err != nil {
		return fmt.Errorf("privval: writing %s: %w", f.path, err)
	}
	f.seq = next
	return nil
}

// writeInPlace writes data at off in the existing file at path and
// fdatasyncs it. The file's size does not change, so its data is all that
// must reach the disk.
func writeInPlace(fsys diskfs.FS, path string, off int64, data []byte) error {
	fh, err := fsys.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fh.WriteAt(data, off)
	if err == nil {
		err = fh.SyncData()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}
