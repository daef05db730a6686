package blockstore

import (
	"encoding/binary"
	"fmt"
)

// Key prefixes. They are part of the on-disk format: never renumber one.
const (
	prefixBlock            byte = 0x01 // height → bftnode.types.Block
	prefixBlockMeta        byte = 0x02 // height → bftnode.store.BlockMeta
	prefixCommit           byte = 0x03 // height → canonical bftnode.types.Commit
	prefixSeenCommit       byte = 0x04 // height → the node's own seen Commit
	prefixTxResults        byte = 0x05 // legacy, no longer written: height → bftnode.store.TxResults (pruning and rollback delete it)
	prefixBlockHash        byte = 0x06 // block hash → height (8 bytes)
	prefixTx               byte = 0x07 // tx hash → height (8 bytes) ‖ index (4 bytes)
	prefixStoreState       byte = 0x08 // singleton → bftnode.store.BlockStoreState
	prefixFormat           byte = 0x09 // singleton → bftnode.store.FormatVersion
	prefixState            byte = 0x10 // singleton → bftnode.store.State
	prefixValidators       byte = 0x11 // height → bftnode.types.ValidatorSet
	prefixFinalizeResponse byte = 0x12 // height → opaque FinalizeBlock response
	prefixConsensusParams  byte = 0x13 // height → bftnode.store.ConsensusParams in force at it
	prefixExtendedCommit   byte = 0x14 // height → the seen commit with its vote extensions (heights with extensions in force)
)

func heightKey(prefix byte, height int64) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], uint64(height))
	return k
}

func hashKey(prefix byte, hash [32]byte) []byte {
	return append([]byte{prefix}, hash[:]...)
}

func storeStateKey() []byte { return []byte{prefixStoreState} }

func stateKey() []byte { return []byte{prefixState} }

func formatKey() []byte { return []byte{prefixFormat} }

func encodeHeight(height int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(height))
}

func decodeHeight(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("height is %d bytes, want 8", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// TxLocation is where a committed transaction is: its block height and its
// index among the block's transactions.
type TxLocation struct {
	Height int64
	Index  uint32
}

func (l TxLocation) encode() []byte {
	return binary.BigEndian.AppendUint32(encodeHeight(l.Height), l.Index)
}

func decodeTxLocation(v []byte) (TxLocation, error) {
	if len(v) != 12 {
		return TxLocation{}, fmt.Errorf("tx location is %d bytes, want 12", len(v))
	}
	return TxLocation{Height: int64(binary.BigEndian.Uint64(v)), Index: binary.BigEndian.Uint32(v[8:])}, nil
}
