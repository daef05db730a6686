package privval

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bftnode/bftnode/crypto/keyfile"
	"github.com/bftnode/bftnode/types"
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
	// ExtSignature and ExtSignBytes are the vote extension signature of the
	// last signed precommit, when it had one, and what it signed (bftnode's
	// addition; CometBFT's state file has neither and ignores them).
	ExtSignature []byte   `json:"extension_signature,omitempty"`
	ExtSignBytes hexBytes `json:"extension_signbytes,omitempty"`
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
	case len(s.ExtSignature) != 0 && len(s.ExtSignature) != ed25519.SignatureSize:
		return fmt.Errorf("extension signature of %d bytes", len(s.ExtSignature))
	case (len(s.ExtSignature) == 0) != (len(s.ExtSignBytes) == 0):
		return errors.New("extension signature and sign bytes must be both present or both absent")
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
// that signBytes encodes, with another timestamp, and returns that timestamp:
// it reads the timestamp out of saved and checks that re-encoding the
// message at that timestamp reproduces saved exactly, so the answer is never
// wrong.
func timestampOnlyChange(saved []byte, signBytes func(time.Time) []byte) (time.Time, bool) {
	ts, ok := types.SignBytesTimestamp(saved)
	return ts, ok && bytes.Equal(signBytes(ts), saved)
}
