package privval

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bftnode/bftnode/crypto/keyfile"
)

// hexBytes is a byte slice written as upper-case hex in JSON.
type hexBytes []byte

func (b hexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(b))), nil
}

func (b *hexBytes) UnmarshalText(text []byte) error {
	v, err := hex.DecodeString(string(text))
	*b = v
	return err
}

// lastSignState is the state file, in CometBFT's JSON shape.
type lastSignState struct {
	Height    int64    `json:"height,string"`
	Round     int32    `json:"round"`
	Step      Step     `json:"step"`
	Signature []byte   `json:"signature,omitempty"`
	SignBytes hexBytes `json:"signbytes,omitempty"`
}

func (s *lastSignState) hrs() HRS { return HRS{s.Height, s.Round, s.Step} }

func (s *lastSignState) validate() error {
	switch {
	case s.Height < 0 || s.Round < 0 || s.Step < StepNone || s.Step > StepPrecommit:
		return fmt.Errorf("bad %s", s.hrs())
	case len(s.Signature) != 0 && len(s.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("signature of %d bytes", len(s.Signature))
	case (len(s.Signature) == 0) != (len(s.SignBytes) == 0):
		return errors.New("signature and sign bytes must be both present or both absent")
	}
	return nil
}

// writeState replaces the state file with s in the legacy format,
// atomically and durably (see keyfile.WriteAtomic).
func writeState(path string, s lastSignState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("privval: encoding last-sign state: %w", err)
	}
	return keyfile.WriteAtomic(path, data)
}

// ResetState writes a fresh last-sign state (nothing signed) to path. It
// lets the validator sign at any height again, so it is only for an operator
// who knows the chain is past the last height this key signed; unsafe must
// be true.
func ResetState(path string, unsafe bool) error {
	if !unsafe {
		return ErrUnsafeNotConfirmed
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("privval: %w", err)
	}
	return writeState(path, lastSignState{})
}

// timestampOnlyChange reports whether saved are the sign bytes of the message
// that signBytes encodes, with another timestamp, and returns that timestamp.
//
// It locates the timestamp field by encoding the message at two timestamps
// whose encodings differ in every byte, reads the saved value there, and then
// checks that re-encoding the message at the saved timestamp reproduces saved
// exactly. So the answer is never wrong, even if the encoding of sign bytes
// changes: at worst a timestamp-only change is refused.
func timestampOnlyChange(saved []byte, signBytes func(time.Time) []byte) (time.Time, bool) {
	lo, hi := signBytes(time.Unix(0, 0)), signBytes(time.Unix(0, -1))
	if len(lo) != len(saved) || len(hi) != len(saved) {
		return time.Time{}, false
	}
	first, last := -1, -1
	for i := range lo {
		if lo[i] != hi[i] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last-first != 7 {
		return time.Time{}, false
	}
	ts := time.Unix(0, int64(binary.BigEndian.Uint64(saved[first:last+1]))).UTC()
	return ts, bytes.Equal(signBytes(ts), saved)
}
