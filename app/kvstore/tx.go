package kvstore

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
)

// ValidatorPrefix starts a validator update transaction.
const ValidatorPrefix = "val:"

var (
	// ErrEmptyTx is returned for an empty transaction.
	ErrEmptyTx = errors.New("empty transaction")
	// ErrEmptyKey is returned for a key/value transaction with an empty key.
	ErrEmptyKey = errors.New("empty key")
	// ErrBadValidatorTx is returned for a malformed "val:" transaction.
	ErrBadValidatorTx = errors.New("malformed validator transaction, want val:<base64 ed25519 public key>!<power>")
)

// Tx is a parsed transaction: a key/value write, or a validator update when
// Validator is set.
type Tx struct {
	Key, Value []byte
	Validator  *abci.ValidatorUpdate
}

// ParseTx parses a transaction; see the package documentation for the format.
func ParseTx(tx []byte) (Tx, error) {
	if len(tx) == 0 {
		return Tx{}, ErrEmptyTx
	}
	if rest, ok := bytes.CutPrefix(tx, []byte(ValidatorPrefix)); ok {
		return parseValidatorTx(rest)
	}
	key, value, found := bytes.Cut(tx, []byte("="))
	if !found {
		key, value = tx, tx
	}
	if len(key) == 0 {
		return Tx{}, ErrEmptyKey
	}
	return Tx{Key: key, Value: value}, nil
}

// parseValidatorTx parses what follows "val:".
func parseValidatorTx(s []byte) (Tx, error) {
	key64, power64, found := bytes.Cut(s, []byte("!"))
	if !found {
		return Tx{}, fmt.Errorf("%w: no '!'", ErrBadValidatorTx)
	}
	pubKey, err := base64.StdEncoding.DecodeString(string(key64))
	if err != nil {
		return Tx{}, fmt.Errorf("%w: public key: %w", ErrBadValidatorTx, err)
	}
	if len(pubKey) != ed25519.PublicKeySize {
		return Tx{}, fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadValidatorTx, len(pubKey), ed25519.PublicKeySize)
	}
	power, err := strconv.ParseInt(string(power64), 10, 64)
	if err != nil || power < 0 {
		return Tx{}, fmt.Errorf("%w: power %q is not a non-negative integer", ErrBadValidatorTx, power64)
	}
	return Tx{Validator: &abci.ValidatorUpdate{
		PubKey: crypto.PublicKey{Sum: &crypto.PublicKey_Ed25519{Ed25519: pubKey}},
		Power:  power,
	}}, nil
}

// ValidatorTx returns the transaction that sets the power of the validator
// with the given ed25519 public key.
func ValidatorTx(pubKey ed25519.PublicKey, power int64) []byte {
	return fmt.Appendf(nil, "%s%s!%d", ValidatorPrefix, base64.StdEncoding.EncodeToString(pubKey), power)
}
