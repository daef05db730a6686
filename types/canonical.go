package types

import (
	"encoding/binary"
	"time"
)

// The canonical encoding: the exact bytes that are signed and hashed, as
// CometBFT v0.40.0 defines them (spec/core/encoding.md and
// data_structures.md), so that CometBFT's light client, signers and tools
// verify bftnode's chains. It is protobuf, written field by field straight
// from the domain types: no intermediate proto structs, no reflection.
//
// Protobuf (proto3) leaves out a scalar or bytes field holding its zero
// value; an embedded message that CometBFT declares non-nullable is always
// written, even when empty. An all-zero Hash or Address stands for an
// absent (empty) field, as in the wire form (see proto.go).

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

func appendTag(b []byte, field, wire uint64) []byte {
	return binary.AppendUvarint(b, field<<3|wire)
}

// appendVarint writes an integer field (uint32, uint64, int32, int64 and
// enums: negatives as their 64-bit two's complement), left out when zero.
func appendVarint(b []byte, field uint64, v uint64) []byte {
	if v == 0 {
		return b
	}
	return binary.AppendUvarint(appendTag(b, field, wireVarint), v)
}

// appendSfixed64 writes an sfixed64 field, left out when zero.
func appendSfixed64(b []byte, field uint64, v int64) []byte {
	if v == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint64(appendTag(b, field, wireFixed64), uint64(v))
}

// appendBytes writes a bytes or string field, left out when empty.
func appendBytes(b []byte, field uint64, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return appendMessage(b, field, v)
}

func appendString(b []byte, field uint64, s string) []byte {
	if s == "" {
		return b
	}
	b = binary.AppendUvarint(appendTag(b, field, wireBytes), uint64(len(s)))
	return append(b, s...)
}

// appendMessage writes an embedded message (or bytes) field, even when
// empty: the form of a non-nullable message field.
func appendMessage(b []byte, field uint64, body []byte) []byte {
	b = binary.AppendUvarint(appendTag(b, field, wireBytes), uint64(len(body)))
	return append(b, body...)
}

// hashBytes is h as a bytes field's value: empty for the zero hash.
func hashBytes(h *Hash) []byte {
	if h.IsZero() {
		return nil
	}
	return h[:]
}

func addressBytes(a *Address) []byte {
	if *a == (Address{}) {
		return nil
	}
	return a[:]
}

// appendTimestamp writes the body of a google.protobuf.Timestamp: seconds
// and nanoseconds since the Unix epoch (the zero time.Time is year 1, as
// with gogoproto's stdtime).
func appendTimestamp(b []byte, t time.Time) []byte {
	b = appendVarint(b, 1, uint64(t.Unix()))
	return appendVarint(b, 2, uint64(int64(t.Nanosecond())))
}

// appendBlockID writes the body of a BlockID (or CanonicalBlockID: the
// same fields): the hash and the always-present part set header.
func appendBlockID(b []byte, id *BlockID) []byte {
	b = appendBytes(b, 1, hashBytes(&id.Hash))
	var psh [48]byte
	body := appendVarint(psh[:0], 1, uint64(id.PartSetHeader.Total))
	body = appendBytes(body, 2, hashBytes(&id.PartSetHeader.Hash))
	return appendMessage(b, 2, body)
}

// appendCanonicalBlockID writes a vote's or proposal's block ID field: left
// out for the nil block ID.
func appendCanonicalBlockID(b []byte, field uint64, id *BlockID) []byte {
	if id.IsNil() {
		return b
	}
	var buf [96]byte
	return appendMessage(b, field, appendBlockID(buf[:0], id))
}

func appendTimestampField(b []byte, field uint64, t time.Time) []byte {
	var buf [24]byte
	return appendMessage(b, field, appendTimestamp(buf[:0], t))
}

// delimited prefixes body with its length as a uvarint (MarshalDelimited).
func delimited(body []byte) []byte {
	out := make([]byte, 0, binary.MaxVarintLen64+len(body))
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...)
}

// VoteSignBytes are the bytes a validator signs for a vote: CometBFT's
// CanonicalVote (type, height and round as sfixed64, the block ID unless
// nil, the timestamp, the chain ID), length-delimited.
func VoteSignBytes(chainID string, v *Vote) []byte {
	var buf [192]byte
	b := appendVarint(buf[:0], 1, uint64(v.Type))
	b = appendSfixed64(b, 2, v.Height)
	b = appendSfixed64(b, 3, int64(v.Round))
	b = appendCanonicalBlockID(b, 4, &v.BlockID)
	b = appendTimestampField(b, 5, v.Timestamp)
	b = appendString(b, 6, chainID)
	return delimited(b)
}

// ProposalSignBytes are the bytes a proposer signs: CometBFT's
// CanonicalProposal (type 32, height and round as sfixed64, the POL round as
// a varint, the block ID, the timestamp, the chain ID), length-delimited.
func ProposalSignBytes(chainID string, p *Proposal) []byte {
	var buf [192]byte
	b := appendVarint(buf[:0], 1, uint64(ProposalType))
	b = appendSfixed64(b, 2, p.Height)
	b = appendSfixed64(b, 3, int64(p.Round))
	b = appendVarint(b, 4, uint64(int64(p.POLRound)))
	b = appendCanonicalBlockID(b, 5, &p.BlockID)
	b = appendTimestampField(b, 6, p.Timestamp)
	b = appendString(b, 7, chainID)
	return delimited(b)
}

// VoteExtensionSignBytes are the bytes a validator signs for its vote
// extension: CometBFT's CanonicalVoteExtension (the extension, height and
// round as sfixed64, the chain ID), length-delimited.
func VoteExtensionSignBytes(chainID string, v *Vote) []byte {
	b := make([]byte, 0, len(v.Extension)+len(chainID)+32)
	b = appendBytes(b, 1, v.Extension)
	b = appendSfixed64(b, 2, v.Height)
	b = appendSfixed64(b, 3, int64(v.Round))
	b = appendString(b, 4, chainID)
	return delimited(b)
}

// SignBytesTimestamp reads the timestamp out of the sign bytes of a vote or
// a proposal (as VoteSignBytes and ProposalSignBytes write them). A signer
// uses it to tell a request that differs from what it signed only in the
// timestamp. ok is false when signBytes are not such sign bytes.
func SignBytesTimestamp(signBytes []byte) (ts time.Time, ok bool) {
	n, k := binary.Uvarint(signBytes)
	if k <= 0 || n != uint64(len(signBytes)-k) {
		return time.Time{}, false
	}
	msg := signBytes[k:]
	tsField := uint64(5) // CanonicalVote.timestamp
	for len(msg) > 0 {
		field, wire, body, rest, ok := nextField(msg)
		if !ok {
			return time.Time{}, false
		}
		msg = rest
		switch {
		case field == 1 && wire == wireVarint && SignedMsgType(body[0]) == ProposalType:
			tsField = 6 // CanonicalProposal.timestamp
		case field == tsField && wire == wireBytes:
			return timestampFromProto(body)
		}
	}
	return time.Time{}, false
}

// nextField splits the first field off a protobuf message: its number, wire
// type and value (a varint's bytes, a fixed64's 8 bytes or a bytes field's
// contents) and the rest.
func nextField(msg []byte) (field, wire uint64, value, rest []byte, ok bool) {
	tag, k := binary.Uvarint(msg)
	if k <= 0 {
		return 0, 0, nil, nil, false
	}
	field, wire, msg = tag>>3, tag&7, msg[k:]
	switch wire {
	case wireVarint:
		_, k = binary.Uvarint(msg)
		if k <= 0 {
			return 0, 0, nil, nil, false
		}
		return field, wire, msg[:k], msg[k:], true
	case wireFixed64:
		if len(msg) < 8 {
			return 0, 0, nil, nil, false
		}
		return field, wire, msg[:8], msg[8:], true
	case wireBytes:
		n, k := binary.Uvarint(msg)
		if k <= 0 || n > uint64(len(msg)-k) {
			return 0, 0, nil, nil, false
		}
		return field, wire, msg[k : k+int(n)], msg[k+int(n):], true
	}
	return 0, 0, nil, nil, false
}

// timestampFromProto decodes the body of a google.protobuf.Timestamp.
func timestampFromProto(body []byte) (time.Time, bool) {
	var secs, nanos int64
	for len(body) > 0 {
		field, wire, value, rest, ok := nextField(body)
		if !ok || wire != wireVarint {
			return time.Time{}, false
		}
		v, _ := binary.Uvarint(value)
		switch field {
		case 1:
			secs = int64(v)
		case 2:
			nanos = int64(v)
		}
		body = rest
	}
	if nanos < 0 || nanos >= int64(time.Second) {
		return time.Time{}, false
	}
	return time.Unix(secs, nanos).UTC(), true
}
