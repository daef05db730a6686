package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
)

// ErrBadOptions is wrapped by every error about invalid benchmark options.
var ErrBadOptions = errors.New("bench: invalid options")

// seqDigits is the fixed width of the sequence number in a tx key, so that
// every tx of a run has the same length.
const seqDigits = 12

// TxGen makes unique kvstore transactions "bench/RUNID/SEQ=VALUE" of
// exactly Size bytes; SEQ counts from 0 in fixed-width hex and VALUE is
// pseudo-random letters and digits drawn from SEQ, so that storage
// compression cannot shrink it much (a repeated filler byte would flatter
// the disk figures). It is safe for concurrent use.
type TxGen struct {
	prefix []byte // "bench/RUNID/"
	size   int
	next   atomic.Uint64
}

// NewTxGen returns a generator for run runID (letters, digits, '-' or '_';
// it keeps the keys of different runs apart) making txs of size bytes.
func NewTxGen(runID string, size int) (*TxGen, error) {
	if runID == "" {
		return nil, fmt.Errorf("%w: empty run ID", ErrBadOptions)
	}
	for _, r := range runID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return nil, fmt.Errorf("%w: run ID %q: use only letters, digits, '-' and '_'", ErrBadOptions, runID)
		}
	}
	g := &TxGen{prefix: []byte("bench/" + runID + "/"), size: size}
	if min := g.MinSize(); size < min {
		return nil, fmt.Errorf("%w: tx size %d is below the minimum of %d bytes for run ID %q", ErrBadOptions, size, min, runID)
	}
	return g, nil
}

// MinSize is the smallest tx size this generator can make: the key, '=' and
// a one-byte value.
func (g *TxGen) MinSize() int { return len(g.prefix) + seqDigits + 2 }

// Size is the length of every tx.
func (g *TxGen) Size() int { return g.size }

// Next returns a new tx and its sequence number.
func (g *TxGen) Next() (uint64, []byte) {
	seq := g.next.Add(1) - 1
	return seq, g.makeTx(seq)
}

// makeTx returns the tx with sequence number seq (below 16^seqDigits).
func (g *TxGen) makeTx(seq uint64) []byte {
	tx := make([]byte, g.size)
	n := copy(tx, g.prefix)
	hex := strconv.AppendUint(make([]byte, 0, 16), seq, 16)
	for i := len(hex); i < seqDigits; i++ {
		tx[n] = '0'
		n++
	}
	n += copy(tx[n:], hex)
	tx[n] = '='
	rng := rand.NewPCG(seq, 0x62656e6368) // "bench"
	var word uint64
	for i := n + 1; i < len(tx); i++ {
		if word < uint64(len(valueAlphabet)) {
			word = rng.Uint64() | 1<<63 // keep the draw from running dry early
		}
		tx[i] = valueAlphabet[word%uint64(len(valueAlphabet))]
		word /= uint64(len(valueAlphabet))
	}
	return tx
}

// valueAlphabet are the bytes of a tx's value (no '=', which kvstore splits on).
const valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Parse returns the sequence number of a tx made by this generator, or
// false for any other tx.
func (g *TxGen) Parse(tx []byte) (uint64, bool) {
	if len(tx) != g.size || !bytes.HasPrefix(tx, g.prefix) {
		return 0, false
	}
	end := len(g.prefix) + seqDigits
	if tx[end] != '=' {
		return 0, false
	}
	seq, err := strconv.ParseUint(string(tx[len(g.prefix):end]), 16, 64)
	if err != nil {
		return 0, false
	}
	return seq, true
}
