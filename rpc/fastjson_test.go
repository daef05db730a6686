package rpc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fastRequestSeeds are request bodies on both sides of the fast path's
// subset: each must decode as encoding/json decodes it, or be left to it.
var fastRequestSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_async","params":{"tx":"YT1i"}}`,
	` { "jsonrpc" : "2.0" , "id" : "x-1" , "method" : "status" } `,
	`{"method":"block","params":{"height":5,"a":true,"b":null,"c":-12},"id":-3,"jsonrpc":"2.0"}`,
	`{"jsonrpc":"2.0","id":1,"id":2,"method":"health","method":"status"}`,
	`{"jsonrpc":"2.0","id":1,"method":"health","params":{}}`,
	`{}`,
	`{"jsonrpc":"2.0","id":null,"method":"health"}`,
	`{"jsonrpc":"2.0","id":1.5,"method":"health"}`,
	`{"jsonrpc":"2.0","id":01,"method":"health"}`,
	`{"jsonrpc":"2.0","id":1,"method":"health","params":["a"]}`,
	`{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":{"b":1}}}`,
	`{"JSONRPC":"2.0","id":1,"method":"health"}`,
	`{"jsonrpc":"2.0","id":1,"method":"he\u006clth"}`,
	`{"jsonrpc":2,"id":1,"method":"health"}`,
	`{"jsonrpc":"2.0","id":"<&>","method":"health"}`,
	`{"jsonrpc":"2.0","id":1,"method":"health"} x`,
	`{"jsonrpc":"2.0","id":1,"method":"health",}`,
	`{"jsonrpc":"2.0","id":1,"method":"héalth"}`,
	`{"jsonrpc":"2.0","id":1,"method":"health"`,
	`{"jsonrpc":"2.0","id":1,"method":"health","params":{"tx":"YT1i"`,
	`[{"jsonrpc":"2.0","id":1,"method":"health"}]`,
	`{"jsonrpc":"2.0","id":tru,"method":"health"}`,
	`{"jsonrpc":"2.0","id":-,"method":"health"}`,
}

// checkFastRequest fails if the fast path accepts body but reads it
// differently from encoding/json.
func checkFastRequest(t *testing.T, body string) bool {
	t.Helper()
	got, ok := parseRequestFast([]byte(body))
	if !ok {
		return false
	}
	want, err := decodeRequest([]byte(body))
	if err != nil {
		t.Fatalf("fast path accepted %s, which encoding/json rejects: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: fast path read %+v, encoding/json %+v", body, got, want)
	}
	if got.Params != nil {
		m, ok := parseFlatObject(got.Params)
		var wantM map[string]json.RawMessage
		if err := json.Unmarshal(got.Params, &wantM); !ok || err != nil || !reflect.DeepEqual(m, wantM) {
			t.Fatalf("%s: params %v (%v), encoding/json %v (%v)", body, m, ok, wantM, err)
		}
	}
	return true
}

func TestParseRequestFastMatchesEncodingJSON(t *testing.T) {
	accepted := 0
	for _, body := range fastRequestSeeds {
		if checkFastRequest(t, body) {
			accepted++
		}
	}
	// The first six seeds and the one with an id of <&> are in the subset.
	if accepted != 7 {
		t.Errorf("fast path accepted %d seeds, want 7", accepted)
	}
}

func FuzzParseRequestFast(f *testing.F) {
	for _, s := range fastRequestSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) { checkFastRequest(t, body) })
}

func TestPlainStringMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{`"YT1i"`, `""`, `"a b<>&"`, `"a\"b"`, `"a\\b"`, `"é"`, `"a`, `5`, `null`, "\"\x01\""} {
		got, ok := plainString([]byte(raw))
		var want string
		err := json.Unmarshal([]byte(raw), &want)
		if ok && (err != nil || string(got) != want) {
			t.Errorf("plainString(%s) = %q, encoding/json %q, %v", raw, got, want, err)
		}
		if wantOK := err == nil && raw[0] == '"' && !strings.ContainsAny(raw[1:len(raw)-1], "\\\"é\x01"); ok != wantOK {
			t.Errorf("plainString(%s) ok = %v, want %v", raw, ok, wantOK)
		}
	}
}

// broadcastTxFields is resultBroadcastTx without its appendJSON, encoded
// by reflection.
type broadcastTxFields resultBroadcastTx

func TestBroadcastResultEncodesAsEncodingJSON(t *testing.T) {
	for _, r := range []resultBroadcastTx{
		{Data: hexBytes{}, Hash: hexBytes{0xab, 0x01}},
		{Code: 4294967295, Data: hexBytes{0, 0xff}, Log: "refused: <bad> & \"quoted\"\n\u2028é", Codespace: "app\\x", Hash: hexBytes{}},
		{Code: 3, Log: "plain log", Codespace: "sdk"},
	} {
		want, err := json.Marshal(broadcastTxFields(r))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON = %s, json.Marshal %s", got, want)
		}
	}
}

func TestEncodeResponseMatchesEncodingJSON(t *testing.T) {
	result := json.RawMessage(`{"code":0,"log":"\u003cx\u003e"}`)
	for _, v := range []any{
		response{JSONRPC: "2.0", ID: json.RawMessage(`17`), Result: result},
		response{JSONRPC: "2.0", ID: json.RawMessage(`"a-b"`), Result: result},
		response{JSONRPC: "2.0", ID: json.RawMessage(`"<a&b>"`), Result: result},
		response{JSONRPC: "2.0", ID: json.RawMessage(`"é"`), Result: result},
		errorResponse(json.RawMessage(`3`), newError(CodeInvalidParams, "bad <tx>")),
		errorResponse(nil, newError(CodeParseError, "x")),
		[]response{{JSONRPC: "2.0", ID: json.RawMessage(`1`), Result: result}},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := encodeResponse(v); err != nil || string(got) != string(want) {
			t.Errorf("encodeResponse = %s, %v; json.Marshal %s", got, err, want)
		}
	}
}
