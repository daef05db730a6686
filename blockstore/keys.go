package blockstore

import (
	"encoding/binary"
	"fmt"
)

// Key prefixes (store format 3). They are part of the on-disk format: never
// renumber one. Every record of a height lies under prefixHeight, ordered
// by height and then by kind, so the records each block adds come after
// everything stored before them: a memtable flush overlaps the older tables
// only in the hash indexes and the singletons, which sort after all heights,
// and compactions leave the tables of older heights alone.
const (
	prefixHeight     byte = 0x00 // height (8 bytes) ‖ kind (1 byte) → that height's record of the kind
	prefixBlockHash  byte = 0x06 // block hash → height (8 bytes)
	prefixTx         byte = 0x07 // tx hash → height (8 bytes) ‖ index (4 bytes)
	prefixStoreState byte = 0x08 // singleton → bftnode.store.BlockStoreState
	prefixFormat     byte = 0x09 // singleton → bftnode.store.FormatVersion
	prefixState      byte = 0x10 // singleton → bftnode.store.State
)

// Kinds of the records kept per height, the last byte of a height key. Each
// is the prefix byte the kind had in format 2, whose keys were kind ‖ height.
const (
	kindBlock            byte = 0x01 // bftnode.types.Block
	kindBlockMeta        byte = 0x02 // bftnode.store.BlockMeta
	kindCommit           byte = 0x03 // canonical bftnode.types.Commit
	kindSeenCommit       byte = 0x04 // the node's own seen Commit
	kindValidators       byte = 0x11 // bftnode.types.ValidatorSet
	kindFinalizeResponse byte = 0x12 // opaque FinalizeBlock response
	kindConsensusParams  byte = 0x13 // bftnode.store.ConsensusParams in force at the height
	kindExtendedCommit   byte = 0x14 // the seen commit with its vote extensions (heights with extensions in force)
)

// heightKinds are all kinds of per-height records.
var heightKinds = []byte{kindBlock, kindBlockMeta, kindCommit, kindSeenCommit, kindValidators, kindFinalizeResponse, kindConsensusParams, kindExtendedCommit}

const heightKeyLen = 1 + 8 + 1

// heightKey is the key of the record of kind at height.
func heightKey(kind byte, height int64) []byte {
	k := heightsFrom(height)
	return append(k, kind)
}

// heightsFrom is the lowest key of any record at height or above (and the
// upper bound of those below it).
func heightsFrom(height int64) []byte {
	k := make([]byte, 9, heightKeyLen)
	k[0] = prefixHeight
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
