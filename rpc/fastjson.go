package rpc

import (
	"encoding/json"
	"strconv"
)

// A fast path for the JSON of small, simple requests and responses, such as
// the broadcast_tx_* calls a load generator sends by the thousand. It reads
// only a strict subset of JSON: objects whose values are plain strings
// (printable ASCII without escapes), integers, true, false, null, or one
// nested such object. Anything else, valid or not, is left to
// encoding/json, which therefore still gives every error: the fast path
// only ever accepts input that encoding/json would read the same way.

// flatScanner reads the fast-path subset of JSON from b.
type flatScanner struct {
	b []byte
	i int
}

func (s *flatScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// plainByte reports whether c may appear unescaped in a fast-path string.
func plainByte(c byte) bool { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' }

// str reads a plain string at s.i and returns it with its quotes.
func (s *flatScanner) str() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i
	for s.i++; s.i < len(s.b); s.i++ {
		if c := s.b[s.i]; c == '"' {
			s.i++
			return s.b[start:s.i], true
		} else if !plainByte(c) {
			return nil, false
		}
	}
	return nil, false
}

// value reads a plain string, an integer without leading zeros, a literal,
// or (when nested is set) a fast-path object, and returns its bytes.
func (s *flatScanner) value(nested bool) ([]byte, bool) {
	if s.i >= len(s.b) {
		return nil, false
	}
	start := s.i
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{' && nested:
		ok := s.object(false, func(_, _ []byte) bool { return true })
		return s.b[start:s.i], ok
	case c == '-' || c >= '0' && c <= '9':
		if c == '-' {
			s.i++
		}
		digits := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		n := s.i - digits
		if n == 0 || n > 1 && s.b[digits] == '0' || s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
			return nil, false
		}
		return s.b[start:s.i], true
	}
	for _, lit := range []string{"true", "false", "null"} {
		if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			return s.b[start:s.i], true
		}
	}
	return nil, false
}

// object reads an object at s.i, calling fn with each member's key
// (without quotes) and raw value; it fails if fn returns false. Values may
// be objects themselves only when nested is set.
func (s *flatScanner) object(nested bool, fn func(key, val []byte) bool) bool {
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.skipSpace()
		k, ok := s.str()
		if !ok {
			return false
		}
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.skipSpace()
		v, ok := s.value(nested)
		if !ok || !fn(k[1:len(k)-1], v) {
			return false
		}
		s.skipSpace()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// parseFlatObject reads a whole fast-path object (no nested objects) into
// a map, as json.Unmarshal into map[string]json.RawMessage would.
func parseFlatObject(b []byte) (map[string]json.RawMessage, bool) {
	m := make(map[string]json.RawMessage, 2)
	s := flatScanner{b: b}
	ok := s.object(false, func(k, v []byte) bool {
		m[string(k)] = json.RawMessage(v)
		return true
	})
	s.skipSpace()
	return m, ok && s.i == len(b)
}

// parseRequestFast reads a request in the fast-path subset with a string
// jsonrpc and method, an integer or string id, and params absent or an
// object. ok is false for anything else, including any key other than the
// four lower-case names (encoding/json matches struct fields ignoring case).
func parseRequestFast(b []byte) (req request, ok bool) {
	s := flatScanner{b: b}
	ok = s.object(true, func(k, v []byte) bool {
		switch string(k) {
		case "jsonrpc", "method":
			if v[0] != '"' {
				return false
			}
			if k[0] == 'j' {
				req.JSONRPC = string(v[1 : len(v)-1])
			} else {
				req.Method = string(v[1 : len(v)-1])
			}
			return true
		case "id":
			req.ID = json.RawMessage(v)
			return v[0] == '"' || v[0] == '-' || v[0] >= '0' && v[0] <= '9'
		case "params":
			req.Params = json.RawMessage(v)
			return v[0] == '{'
		}
		return false
	})
	s.skipSpace()
	return req, ok && s.i == len(b)
}

// plainString returns the contents of a JSON string without escapes, or
// false for any other value.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if !plainByte(c) {
			return nil, false
		}
	}
	return in, true
}

// htmlSafe reports whether b is printable ASCII that encoding/json copies
// as is (it escapes <, > and & in strings and raw messages).
func htmlSafe(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendJSONString appends s as json.Marshal encodes it.
func appendJSONString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s) && simple; i++ {
		simple = plainByte(s[i]) && s[i] != '<' && s[i] != '>' && s[i] != '&'
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s) // a string always encodes
	return append(b, enc...)
}

// jsonAppender is a result that appends its own JSON, exactly as
// json.Marshal would encode it, without reflection.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// appendJSON appends the result as json.Marshal encodes it.
func (r resultBroadcastTx) appendJSON(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendUint(b, uint64(r.Code), 10)
	b = append(b, `,"data":`...)
	b = r.Data.appendJSON(b)
	b = append(b, `,"log":`...)
	b = appendJSONString(b, r.Log)
	b = append(b, `,"codespace":`...)
	b = appendJSONString(b, r.Codespace)
	b = append(b, `,"hash":`...)
	b = r.Hash.appendJSON(b)
	return append(b, '}')
}

// encodeResponse encodes a response (or a batch of them) as json.Marshal
// does; a successful response with a plain id is written directly. Every
// Result is the output of json.Marshal or of an appendJSON that matches
// it, so it is already compact and escaped as json.Marshal would make it.
func encodeResponse(v any) ([]byte, error) {
	r, ok := v.(response)
	if !ok || r.Error != nil || len(r.Result) == 0 || len(r.ID) == 0 || !htmlSafe(r.ID) || r.JSONRPC != "2.0" {
		return json.Marshal(v)
	}
	b := make([]byte, 0, len(`{"jsonrpc":"2.0","id":,"result":}`)+len(r.ID)+len(r.Result))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, r.ID...)
	b = append(b, `,"result":`...)
	b = append(b, r.Result...)
	return append(b, '}'), nil
}
