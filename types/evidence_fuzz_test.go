package types

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzDecodeEvidence checks that decoding evidence never panics, and that
// whatever decodes encodes to bytes that decode again to the same bytes. The
// seeds are the wire forms CometBFT wrote in the evidence vectors.
func FuzzDecodeEvidence(f *testing.F) {
	raw, err := os.ReadFile("testdata/cometbft_evidence_vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var v evidenceVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		f.Fatal(err)
	}
	for _, d := range v.Duplicates {
		f.Add([]byte(d.Evidence))
	}
	for _, a := range v.Attacks {
		f.Add([]byte(a.Evidence))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvidence(b)
		if err != nil {
			return
		}
		once := EncodeEvidence(ev)
		again, err := DecodeEvidence(once)
		if err != nil {
			t.Fatalf("our own encoding of decoded evidence does not decode: %v", err)
		}
		if twice := EncodeEvidence(again); !bytes.Equal(once, twice) {
			t.Fatalf("encoding is not stable:\n%x\n%x", once, twice)
		}
		if ev.Hash() != again.Hash() {
			t.Fatalf("hash changed over a round trip: %x, %x", ev.Hash(), again.Hash())
		}
	})
}
