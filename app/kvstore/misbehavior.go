package kvstore

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/cockroachdb/pebble/v2"

	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/proto/tendermint/crypto"
	"github.com/bftnode/bftnode/types"
)

// punish removes the validator a piece of evidence names (power 0), unless
// it is already gone, was updated in this block, or is the last validator
// (the chain would halt). It returns the update made, if any, and the
// "misbehavior" event that records the decision in the block's results.
func punish(w *writes, m abci.Misbehavior, updated map[string]bool) (*abci.ValidatorUpdate, abci.Event, error) {
	pubKey, count, err := w.validatorByAddress(m.Validator.Address)
	if err != nil {
		return nil, abci.Event{}, err
	}
	action := "removed"
	var update *abci.ValidatorUpdate
	switch {
	case pubKey == nil:
		action = "not a validator"
	case updated[string(pubKey)]:
		action = "already updated in this block"
	case count <= 1:
		action = "kept: the last validator"
	default:
		update = &abci.ValidatorUpdate{PubKey: crypto.PublicKey{Sum: &crypto.PublicKey_Ed25519{Ed25519: pubKey}}}
		if err := w.setValidator(*update); err != nil {
			return nil, abci.Event{}, err
		}
		updated[string(pubKey)] = true
	}
	return update, abci.Event{Type: "misbehavior", Attributes: []abci.EventAttribute{
		{Key: "type", Value: m.Type.String(), Index: true},
		{Key: "validator", Value: hex.EncodeToString(m.Validator.Address), Index: true},
		{Key: "height", Value: strconv.FormatInt(m.Height, 10)},
		{Key: "action", Value: action},
	}}, nil
}

// validatorByAddress finds the public key of the validator with address
// addr (nil if none) and counts the validators, both as of the batch.
func (w *writes) validatorByAddress(addr []byte) (pubKey []byte, count int, err error) {
	it, err := w.batch.NewIter(&pebble.IterOptions{LowerBound: validatorPrefix, UpperBound: []byte("v0")})
	if err != nil {
		return nil, 0, fmt.Errorf("kvstore: read validators: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		count++
		key := it.Key()[len(validatorPrefix):]
		if len(key) != ed25519.PublicKeySize {
			continue
		}
		if a := types.AddressOf(ed25519.PublicKey(key)); bytes.Equal(a[:], addr) {
			pubKey = bytes.Clone(key)
		}
	}
	if err := it.Close(); err != nil {
		return nil, 0, fmt.Errorf("kvstore: read validators: %w", err)
	}
	return pubKey, count, nil
}
