package rpc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/bftnode/bftnode/types"
)

// ErrInvalidParams is wrapped by every params decoding error; the server
// answers it with code -32602.
var ErrInvalidParams = errors.New("invalid params")

// param is one parameter as received: JSON from a JSON-RPC body, or the
// raw text of a URI query value.
type param struct {
	json    json.RawMessage
	uri     string
	fromURI bool
}

// args holds a request's parameters by name.
type args struct {
	vals map[string]param
}

// parseJSONParams reads JSON-RPC params: absent or null, an object by
// name, or an array in the order of names.
func parseJSONParams(raw json.RawMessage, names []string) (*args, error) {
	a := &args{vals: map[string]param{}}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return a, nil
	}
	switch raw[0] {
	case '{':
		m, ok := parseFlatObject(raw)
		if !ok {
			m = nil // not what the fast path read before it gave up
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
			}
		}
		for k, v := range m {
			if !contains(names, k) {
				return nil, fmt.Errorf("%w: unknown parameter %q (want %s)", ErrInvalidParams, k, nameList(names))
			}
			a.vals[k] = param{json: v}
		}
	case '[':
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
		if len(l) > len(names) {
			return nil, fmt.Errorf("%w: %d positional parameters, at most %d (%s)", ErrInvalidParams, len(l), len(names), nameList(names))
		}
		for i, v := range l {
			a.vals[names[i]] = param{json: v}
		}
	default:
		return nil, fmt.Errorf("%w: params must be an object or an array", ErrInvalidParams)
	}
	return a, nil
}

// parseURIParams reads the query string of a GET request.
func parseURIParams(q url.Values, names []string) (*args, error) {
	a := &args{vals: map[string]param{}}
	for k, v := range q {
		if !contains(names, k) {
			return nil, fmt.Errorf("%w: unknown parameter %q (want %s)", ErrInvalidParams, k, nameList(names))
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("%w: parameter %q given %d times", ErrInvalidParams, k, len(v))
		}
		a.vals[k] = param{uri: v[0], fromURI: true}
	}
	return a, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func nameList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// lookup returns the parameter, and false when it is absent or null (or an
// empty URI value).
func (a *args) lookup(name string) (param, bool) {
	p, ok := a.vals[name]
	if !ok {
		return p, false
	}
	if p.fromURI {
		return p, p.uri != ""
	}
	return p, !bytes.Equal(bytes.TrimSpace(p.json), []byte("null"))
}

func badParam(name, format string, v ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidParams, name, fmt.Sprintf(format, v...))
}

// unquoteURI strips CometBFT's URI string quotes: "abc" → abc.
func unquoteURI(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1], true
	}
	return s, false
}

// Int64 returns an integer parameter given as a JSON number, a decimal
// string, or a bare or quoted URI value; def when absent.
func (a *args) Int64(name string, def int64) (int64, error) {
	p, ok := a.lookup(name)
	if !ok {
		return def, nil
	}
	var s string
	if p.fromURI {
		s, _ = unquoteURI(p.uri)
	} else {
		raw := bytes.TrimSpace(p.json)
		if len(raw) > 0 && raw[0] == '"' {
			if err := json.Unmarshal(raw, &s); err != nil {
				return 0, badParam(name, "%v", err)
			}
		} else {
			s = string(raw)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badParam(name, "want an integer, got %.40q", s)
	}
	return n, nil
}

// OptInt64 returns an integer parameter and whether it was given.
func (a *args) OptInt64(name string) (int64, bool, error) {
	if _, ok := a.lookup(name); !ok {
		return 0, false, nil
	}
	n, err := a.Int64(name, 0)
	return n, err == nil, err
}

// Bool returns a boolean parameter (true/false, also as a string); def
// when absent.
func (a *args) Bool(name string, def bool) (bool, error) {
	p, ok := a.lookup(name)
	if !ok {
		return def, nil
	}
	s := string(bytes.TrimSpace(p.json))
	if p.fromURI {
		s = p.uri
	}
	s, _ = unquoteURI(s)
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badParam(name, "want true or false, got %.40q", s)
	}
	return b, nil
}

// String returns a string parameter: a JSON string, or a URI value with
// or without quotes; def when absent.
func (a *args) String(name, def string) (string, error) {
	p, ok := a.lookup(name)
	if !ok {
		return def, nil
	}
	if p.fromURI {
		s, _ := unquoteURI(p.uri)
		return s, nil
	}
	var s string
	if err := json.Unmarshal(p.json, &s); err != nil {
		return "", badParam(name, "want a string")
	}
	return s, nil
}

// Bytes returns a byte-string parameter: in JSON, standard base64 (or
// 0x-prefixed hex); in a URI, a quoted string taken literally or 0x-hex.
// A required parameter that is absent is an error.
func (a *args) Bytes(name string, required bool) ([]byte, error) {
	p, ok := a.lookup(name)
	if !ok {
		if required {
			return nil, badParam(name, "missing")
		}
		return nil, nil
	}
	if p.fromURI {
		if s, quoted := unquoteURI(p.uri); quoted {
			return []byte(s), nil
		}
		if h, ok := strings.CutPrefix(p.uri, "0x"); ok {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, badParam(name, "bad hex: %v", err)
			}
			return b, nil
		}
		return nil, badParam(name, `want a quoted string ("...") or 0x-prefixed hex`)
	}
	s, plain := plainString(p.json)
	if !plain {
		var str string
		if err := json.Unmarshal(p.json, &str); err != nil {
			return nil, badParam(name, "want a base64 string")
		}
		s = []byte(str)
	}
	if h, ok := bytes.CutPrefix(s, []byte("0x")); ok {
		b := make([]byte, hex.DecodedLen(len(h)))
		n, err := hex.Decode(b, h)
		if err != nil {
			return nil, badParam(name, "bad hex: %v", err)
		}
		return b[:n], nil
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		return nil, badParam(name, "bad base64: %v", err)
	}
	return b[:n], nil
}

// Hash returns a required 32-byte hash parameter, accepted as 64 hex
// digits (with or without 0x or quotes) or, in JSON, as base64.
func (a *args) Hash(name string) (types.Hash, error) {
	var h types.Hash
	p, ok := a.lookup(name)
	if !ok {
		return h, badParam(name, "missing")
	}
	var s string
	if p.fromURI {
		s, _ = unquoteURI(p.uri)
	} else if err := json.Unmarshal(p.json, &s); err != nil {
		return h, badParam(name, "want a hex or base64 string")
	}
	s = strings.TrimPrefix(s, "0x")
	var b []byte
	var err error
	if len(s) == 2*len(h) {
		b, err = hex.DecodeString(s)
	} else {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != len(h) {
		return h, badParam(name, "want a 32-byte hash as 64 hex digits or base64")
	}
	copy(h[:], b)
	return h, nil
}

// HexData returns a byte-string parameter given as hex (CometBFT's
// HexBytes, used by abci_query's data): in JSON a hex string with or
// without 0x; in a URI, 0x-hex or a quoted literal string.
func (a *args) HexData(name string) ([]byte, error) {
	p, ok := a.lookup(name)
	if !ok {
		return nil, nil
	}
	if p.fromURI {
		return a.Bytes(name, false)
	}
	var s string
	if err := json.Unmarshal(p.json, &s); err != nil {
		return nil, badParam(name, "want a hex string")
	}
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		return nil, badParam(name, "bad hex: %v", err)
	}
	return b, nil
}
