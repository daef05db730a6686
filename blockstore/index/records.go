package index

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/bftnode/bftnode/eventbus"
	abci "github.com/bftnode/bftnode/proto/tendermint/abci"
	"github.com/bftnode/bftnode/types"
)

// A tx record (the value of 't' position) is one of two kinds:
//
//   - a pointer, one byte: the tx is in the block store, in the block at
//     the record's height at its index, and its result (for recResult) in
//     the FinalizeBlock response saved for that height. An index with a
//     block store writes these: the store holds the bytes already.
//   - a copy (encodeTxRecord): the tx's length, the tx, a result flag and
//     the encoded result. An index without a block store writes these, and
//     indexes written before pointers existed hold them.
//
// A copy is never one byte long (it holds at least a length and a flag),
// so the kinds cannot be mistaken for each other.
const (
	recNoResult byte = 0x00 // pointer to a tx the application returned no result for
	recResult   byte = 0x01 // pointer to a tx and its result
)

// pointerRecord is the record of a tx kept in the block store.
func pointerRecord(hasResult bool) []byte {
	if hasResult {
		return []byte{recResult}
	}
	return []byte{recNoResult}
}

// txReader decodes tx records. It reads a pointer record's tx and result
// from the block store, keeping the last block and response it read, as a
// search visits the txs of a block one after another. A txReader is for
// one search: it is not safe for concurrent use.
type txReader struct {
	blocks BlockSource // nil when the index has no block store
	height int64       // of block and resp, 0 when none is held
	block  *types.Block
	resp   *abci.ResponseFinalizeBlock // nil until read
}

func (ix *Index) reader() *txReader { return &txReader{blocks: ix.blocks} }

// read decodes the tx record rec at pos, and with withAttrs the attributes
// a query matches it by.
func (r *txReader) read(pos, rec []byte, withAttrs bool) (*eventbus.TxResult, map[string][]string, error) {
	height, index, err := decodePos(pos)
	if err != nil {
		return nil, nil, err
	}
	tr := &eventbus.TxResult{Height: height, Index: index}
	if len(rec) == 1 {
		err = r.resolve(tr, rec[0])
	} else {
		err = decodeCopy(tr, rec)
	}
	if err != nil {
		return nil, nil, err
	}
	if !withAttrs {
		return tr, nil, nil
	}
	h := tr.Hash()
	attrs := map[string][]string{
		eventbus.KeyTxHash:   {strings.ToUpper(hex.EncodeToString(h[:]))},
		eventbus.KeyTxHeight: {strconv.FormatInt(height, 10)},
	}
	if tr.Result != nil {
		for _, a := range indexedAttributes(nil, tr.Result.Events, eventbus.KeyTxHash, eventbus.KeyTxHeight) {
			attrs[a.key] = append(attrs[a.key], a.value)
		}
	}
	return tr, attrs, nil
}

// decodeCopy fills tr from a copy record.
func decodeCopy(tr *eventbus.TxResult, rec []byte) error {
	tx, raw, hasResult, err := decodeTxRecord(rec)
	if err != nil {
		return err
	}
	tr.Tx = append([]byte{}, tx...)
	if hasResult {
		tr.Result = new(abci.ExecTxResult)
		if err := tr.Result.Unmarshal(raw); err != nil {
			return fmt.Errorf("%w: %w: result of tx %d at height %d: %w", ErrIndex, errCorruptIndex, tr.Index, tr.Height, err)
		}
	}
	return nil
}

// resolve fills tr, for a pointer record of kind, from the block store.
func (r *txReader) resolve(tr *eventbus.TxResult, kind byte) error {
	what := fmt.Sprintf("tx %d at height %d", tr.Index, tr.Height)
	if kind != recResult && kind != recNoResult {
		return fmt.Errorf("%w: %w: record kind %d of %s", ErrIndex, errCorruptIndex, kind, what)
	}
	if r.blocks == nil {
		return fmt.Errorf("%w: %s is kept in the block store, and the index was opened without one", ErrIndex, what)
	}
	if r.height != tr.Height {
		block, err := r.blocks.LoadBlock(tr.Height)
		if err != nil {
			return fmt.Errorf("%w: read %s from the block store (pruned?): %w", ErrIndex, what, err)
		}
		r.height, r.block, r.resp = tr.Height, block, nil
	}
	txs := r.block.Data.Txs
	if int(tr.Index) >= len(txs) {
		return fmt.Errorf("%w: %w: %s, but the stored block has %d txs", ErrIndex, errCorruptIndex, what, len(txs))
	}
	tr.Tx = txs[tr.Index]
	if kind == recNoResult {
		return nil
	}
	if r.resp == nil {
		raw, err := r.blocks.LoadFinalizeBlockResponse(tr.Height)
		if err != nil {
			return fmt.Errorf("%w: read the result of %s from the block store: %w", ErrIndex, what, err)
		}
		resp := new(abci.ResponseFinalizeBlock)
		if err := resp.Unmarshal(raw); err != nil {
			return fmt.Errorf("%w: decode the FinalizeBlock response of height %d: %w", ErrIndex, tr.Height, err)
		}
		r.resp = resp
	}
	if int(tr.Index) >= len(r.resp.TxResults) {
		return fmt.Errorf("%w: %w: result of %s, but the stored response has %d", ErrIndex, errCorruptIndex, what, len(r.resp.TxResults))
	}
	tr.Result = r.resp.TxResults[tr.Index]
	return nil
}
