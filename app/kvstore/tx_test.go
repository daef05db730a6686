package kvstore_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/bftnode/bftnode/app/kvstore"
)

// testPubKey is a fixed ed25519 public key.
var testPubKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)

func TestParseTx(t *testing.T) {
	valTx := string(kvstore.ValidatorTx(testPubKey, 10))
	tests := []struct {
		tx         string
		key, value string
		power      int64 // for a validator tx
		err        error
	}{
		{tx: "name=satoshi", key: "name", value: "satoshi"},
		{tx: "a=b=c", key: "a", value: "b=c"},
		{tx: "k=", key: "k", value: ""},
		{tx: "plain", key: "plain", value: "plain"},
		{tx: "", err: kvstore.ErrEmptyTx},
		{tx: "=v", err: kvstore.ErrEmptyKey},
		{tx: valTx, power: 10},
		{tx: string(kvstore.ValidatorTx(testPubKey, 0)), power: 0},
		{tx: "val:", err: kvstore.ErrBadValidatorTx},
		{tx: "val:AAAA!1", err: kvstore.ErrBadValidatorTx},         // 3-byte key
		{tx: "val:@@@@!1", err: kvstore.ErrBadValidatorTx},         // not base64
		{tx: valTx[:len(valTx)-3], err: kvstore.ErrBadValidatorTx}, // no power
		{tx: valTx[:len(valTx)-2] + "-1", err: kvstore.ErrBadValidatorTx},
		{tx: valTx[:len(valTx)-2] + "x", err: kvstore.ErrBadValidatorTx},
	}
	for _, tt := range tests {
		t.Run(tt.tx, func(t *testing.T) {
			tx, err := kvstore.ParseTx([]byte(tt.tx))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseTx = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tx.Validator != nil {
				if !bytes.Equal(tx.Validator.PubKey.GetEd25519(), testPubKey) || tx.Validator.Power != tt.power {
					t.Fatalf("validator = %v, want power %d", tx.Validator, tt.power)
				}
				return
			}
			if string(tx.Key) != tt.key || string(tx.Value) != tt.value {
				t.Fatalf("ParseTx = %q=%q, want %q=%q", tx.Key, tx.Value, tt.key, tt.value)
			}
		})
	}
}

// FuzzParseTx checks that parsing never panics and that what parses can be
// written back as a transaction that parses the same.
func FuzzParseTx(f *testing.F) {
	for _, seed := range []string{"k=v", "plain", "", "=v", "a=b=c", "val:!", "val:AAAA!1", string(kvstore.ValidatorTx(testPubKey, 5))} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := kvstore.ParseTx(raw)
		if err != nil {
			if !errors.Is(err, kvstore.ErrEmptyTx) && !errors.Is(err, kvstore.ErrEmptyKey) && !errors.Is(err, kvstore.ErrBadValidatorTx) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		var again []byte
		if v := tx.Validator; v != nil {
			again = kvstore.ValidatorTx(v.PubKey.GetEd25519(), v.Power)
		} else {
			if len(tx.Key) == 0 {
				t.Fatal("accepted an empty key")
			}
			again = append(append(append([]byte(nil), tx.Key...), '='), tx.Value...)
		}
		tx2, err := kvstore.ParseTx(again)
		if err != nil {
			t.Fatalf("ParseTx(%q) = %v", again, err)
		}
		if !bytes.Equal(tx.Key, tx2.Key) || !bytes.Equal(tx.Value, tx2.Value) || (tx.Validator == nil) != (tx2.Validator == nil) ||
			(tx.Validator != nil && (!bytes.Equal(tx.Validator.PubKey.GetEd25519(), tx2.Validator.PubKey.GetEd25519()) || tx.Validator.Power != tx2.Validator.Power)) {
			t.Fatalf("%q parses as %+v, rewritten %q as %+v", raw, tx, again, tx2)
		}
	})
}
