package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	mempl "github.com/cometbft/cometbft/mempool"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
)

// TestMempoolFullErrorAsCometBFT: a broadcast_tx_sync refused by a full
// mempool gets the JSON-RPC error CometBFT's server gives for its mempool's
// ErrMempoolIsFull: code -32603, message "Internal error", and data starting
// with CometBFT's words "mempool is full", which clients look for.
func TestMempoolFullErrorAsCometBFT(t *testing.T) {
	nw := newNetwork(t, 1, netOptions{Flags: []string{"--mempool.size=1"}})
	nw.waitHeight(2, 2*time.Minute)
	want := rpctypes.RPCInternalError(rpctypes.JSONRPCIntID(1), mempl.ErrMempoolIsFull{NumTxs: 1, MaxTxs: 1}).Error
	phrase, _, _ := strings.Cut(want.Data, ":")

	// A pool of one tx, bursts of 64 txs at once: most are refused.
	type rpcErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	}
	var mu sync.Mutex
	var refusals []rpcErr
	for round := 0; round < 20 && len(refusals) == 0; round++ {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_sync","params":{"tx":%q}}`,
					base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "full%d-%d=1", round, i)))
				resp, err := http.Post(nw.nodes[0].RPC(), "application/json", bytes.NewBufferString(body))
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				var env struct {
					Error *rpcErr `json:"error"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
					t.Error(err)
					return
				}
				if env.Error != nil {
					mu.Lock()
					refusals = append(refusals, *env.Error)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	if len(refusals) == 0 {
		t.Fatal("a mempool of one tx refused none of 20 bursts of 64 txs")
	}
	for _, e := range refusals {
		if e.Code != want.Code || e.Message != want.Message || !strings.HasPrefix(e.Data, phrase+":") {
			t.Fatalf("refusal %+v; CometBFT gives code %d, message %q, data %q…", e, want.Code, want.Message, phrase+":")
		}
	}
}
