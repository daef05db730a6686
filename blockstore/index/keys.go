package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The index database's key spaces, by their first byte. A position is a
// tx's (height, index), as 8 + 4 big-endian bytes so that positions sort
// in commit order; a block's position is (height, 0).
//
//	meta:                 0x00 'l'               -> last height (8) + its block hash (32)
//	tx by hash:           'x' hash(32) pos       -> "" (only without a block store)
//	tx record:            't' position           -> tx record (a pointer or a copy, see records.go)
//	tx attribute:         'a' key 0x00 value pos -> ""   (value escaped, see appendValue)
//	tx numeric attribute: 'n' key 0x00 num pos   -> ""   (num is appendNumber's 9 bytes)
//	block record:         'k' position           -> block record (encodeAttrs)
//	block attribute:      'b' ... as 'a'; block numeric attribute: 'c' ... as 'n'
//
// Equality and range conditions on an attribute are thus range scans of
// its 'a' (strings) or 'n' (numbers) postings, and height ranges are range
// scans of the records.
const (
	prefixMeta      byte = 0x00
	prefixTxHash    byte = 'x'
	prefixTx        byte = 't'
	prefixTxAttr    byte = 'a'
	prefixTxNum     byte = 'n'
	prefixBlock     byte = 'k'
	prefixBlockAttr byte = 'b'
	prefixBlockNum  byte = 'c'

	posLen = 12
	// numLen is the length of an encoded number: a tag and 8 ordered bytes.
	numLen = 9
	numNaN = 0x01 // tag of NaN values, which compare equal to every number
	numVal = 0x02 // tag of ordinary numbers
)

// errCorruptIndex is wrapped when a stored key or record cannot be decoded.
var errCorruptIndex = errors.New("corrupt tx index entry")

func metaLastKey() []byte { return []byte{prefixMeta, 'l'} }

// position encodes (height, index) as a key suffix.
func position(height int64, index uint32) []byte {
	return appendPos(make([]byte, 0, posLen), height, index)
}

func appendPos(b []byte, height int64, index uint32) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(height))
	return binary.BigEndian.AppendUint32(b, index)
}

func decodePos(b []byte) (int64, uint32, error) {
	if len(b) != posLen {
		return 0, 0, fmt.Errorf("%w: position of %d bytes", errCorruptIndex, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint32(b[8:]), nil
}

// keyPos returns the position at the end of a posting or record key.
func keyPos(key []byte) ([]byte, error) {
	if len(key) < posLen {
		return nil, fmt.Errorf("%w: key of %d bytes", errCorruptIndex, len(key))
	}
	return key[len(key)-posLen:], nil
}

// attrPrefix is the start of every posting of composite key k.
func attrPrefix(prefix byte, k string) []byte {
	b := make([]byte, 0, len(k)+2)
	b = append(b, prefix)
	b = append(b, k...)
	return append(b, 0)
}

// appendValue appends v so that encoded values sort as the strings do and
// no encoding is a prefix of another: each 0x00 becomes 0x00 0xFF and the
// value ends with 0x00 0x01.
func appendValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] == 0 {
			b = append(b, 0, 0xFF)
		} else {
			b = append(b, v[i])
		}
	}
	return append(b, 0, 1)
}

// decodeValue reads a value written by appendValue from the start of b and
// returns it with the rest of b.
func decodeValue(b []byte) (string, []byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			break
		}
		switch b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 1:
			return string(out), b[i+2:], nil
		default:
			return "", nil, fmt.Errorf("%w: bad value escape", errCorruptIndex)
		}
	}
	return "", nil, fmt.Errorf("%w: unterminated value", errCorruptIndex)
}

// parseNumber reports whether v can match a numeric condition, and its
// value as a float64, which orders values as the integer or float
// comparisons of query.Condition do (float64(a) <= float64(b) when a <= b).
func parseNumber(v string) (float64, bool) {
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// appendNumber appends f so that encoded numbers sort numerically; NaN,
// which compares equal to everything, gets a tag of its own.
func appendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, numNaN, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	if f == 0 {
		f = 0 // -0 sorts with +0
	}
	bits := math.Float64bits(f)
	if bits&(1<<63) == 0 {
		bits |= 1 << 63
	} else {
		bits = ^bits
	}
	return binary.BigEndian.AppendUint64(append(b, numVal), bits)
}

// prefixEnd returns the smallest key greater than every key starting with
// p, or nil when there is none.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func concat(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// encodeTxRecord encodes a tx and its result (when known) as the value of
// its record; its position is in the key.
func encodeTxRecord(tx []byte, result []byte, hasResult bool) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(tx)+1+len(result))
	b = binary.AppendUvarint(b, uint64(len(tx)))
	b = append(b, tx...)
	if !hasResult {
		return append(b, 0)
	}
	return append(append(b, 1), result...)
}

// decodeTxRecord splits a tx record into the tx and its encoded result
// (nil when the record has none).
func decodeTxRecord(v []byte) (tx, result []byte, hasResult bool, err error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n >= uint64(len(v)-k) {
		return nil, nil, false, fmt.Errorf("%w: tx record", errCorruptIndex)
	}
	tx, rest := v[k:k+int(n)], v[k+int(n):]
	switch rest[0] {
	case 0:
		return tx, nil, false, nil
	case 1:
		return tx, rest[1:], true, nil
	}
	return nil, nil, false, fmt.Errorf("%w: tx record result flag %d", errCorruptIndex, rest[0])
}

// attr is one indexed attribute of a tx or block.
type attr struct{ key, value string }

// encodeAttrs encodes a block's indexed attributes as its record.
func encodeAttrs(attrs []attr) []byte {
	b := binary.AppendUvarint(nil, uint64(len(attrs)))
	for _, a := range attrs {
		b = binary.AppendUvarint(b, uint64(len(a.key)))
		b = append(b, a.key...)
		b = binary.AppendUvarint(b, uint64(len(a.value)))
		b = append(b, a.value...)
	}
	return b
}

// decodeAttrs adds the attributes of a block record to m.
func decodeAttrs(v []byte, m map[string][]string) error {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)) {
		return fmt.Errorf("%w: block record", errCorruptIndex)
	}
	v = v[k:]
	next := func() (string, bool) {
		l, k := binary.Uvarint(v)
		if k <= 0 || l > uint64(len(v)-k) {
			return "", false
		}
		s := string(v[k : k+int(l)])
		v = v[k+int(l):]
		return s, true
	}
	for range n {
		key, ok1 := next()
		val, ok2 := next()
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: block record attribute", errCorruptIndex)
		}
		m[key] = append(m[key], val)
	}
	if len(v) != 0 {
		return fmt.Errorf("%w: block record has %d trailing bytes", errCorruptIndex, len(v))
	}
	return nil
}
