package rpc

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// The JSON conventions of CometBFT's RPC: 64-bit integers as decimal
// strings (so JavaScript clients do not lose precision), 32-bit integers as
// numbers, hashes and addresses as upper-case hex, raw bytes (transactions,
// app data) as standard base64, times as RFC 3339 with nanoseconds in UTC.

// int64s is an int64 that encodes as a JSON string.
type int64s int64

// MarshalJSON writes the value as a quoted decimal.
func (v int64s) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(v), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a quoted or bare decimal.
func (v *int64s) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		return err
	}
	*v = int64s(n)
	return nil
}

// uint64s is a uint64 that encodes as a JSON string.
type uint64s uint64

// MarshalJSON writes the value as a quoted decimal.
func (v uint64s) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(v), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a quoted or bare decimal.
func (v *uint64s) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseUint(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		return err
	}
	*v = uint64s(n)
	return nil
}

// hexBytes encodes as upper-case hex ("" when empty).
type hexBytes []byte

// MarshalJSON writes the bytes as a quoted upper-case hex string.
func (h hexBytes) MarshalJSON() ([]byte, error) {
	return h.appendJSON(make([]byte, 0, 2+2*len(h))), nil
}

// appendJSON appends the bytes as a quoted upper-case hex string.
func (h hexBytes) appendJSON(b []byte) []byte {
	const digits = "0123456789ABCDEF"
	b = append(b, '"')
	for _, c := range h {
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return append(b, '"')
}

// UnmarshalJSON reads a quoted hex string of either case.
func (h *hexBytes) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

// hashHex returns the upper-case hex of a fixed-size hash, or nil (encoded
// as "") when it is all zeroes, as CometBFT shows an absent hash.
func hashHex(b []byte) hexBytes {
	for _, c := range b {
		if c != 0 {
			return hexBytes(b)
		}
	}
	return hexBytes{}
}

// rfcTime is a time encoded as RFC 3339 with nanoseconds, in UTC.
type rfcTime time.Time

// MarshalJSON writes the time as a quoted RFC 3339 string.
func (t rfcTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = tt.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a quoted RFC 3339 string.
func (t *rfcTime) UnmarshalJSON(b []byte) error {
	tt, err := time.Parse(time.RFC3339Nano, strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*t = rfcTime(tt)
	return nil
}
