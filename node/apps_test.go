package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app"
	"github.com/bftnode/bftnode/app/abcisocket"
	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/rpc"
)

// serveApp serves a over an ABCI socket until the test ends and returns
// its address.
func serveApp(tb testing.TB, a app.Application) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&abcisocket.Server{App: a}).Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return abcisocket.URL(ln)
}

// openKVStore opens a kvstore app in a temporary directory, closed when the
// test ends.
func openKVStore(tb testing.TB) *kvstore.App {
	tb.Helper()
	kv, err := kvstore.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { kv.Close() })
	return kv
}

func appHashAt(ctx context.Context, c *rpc.Client, h int64) (string, error) {
	var b blockResult
	err := c.Call(ctx, "block", map[string]any{"height": strconv.FormatInt(h, 10)}, &b)
	return b.Block.Header.AppHash, err
}

// TestSocketAppMatchesInProcess runs two validators with the kvstore
// in-process and two with it out of process over the ABCI socket: they
// agree on every block, so the app hashes computed both ways are identical
// at every height (a validator whose app disagreed would refuse the block).
func TestSocketAppMatchesInProcess(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	for i := range cfgs {
		if i >= 2 {
			cfgs[i].ProxyApp = serveApp(t, openKVStore(t))
		}
		start(t, cfgs[i])
	}
	ctx := context.Background()
	c0, c3 := client(t, cfgs[0]), client(t, cfgs[3])
	for i := range 5 {
		var res struct {
			Height string `json:"height"`
		}
		if err := c0.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte(fmt.Sprintf("k%d=v%d", i, i))}, &res); err != nil {
			t.Fatal(err)
		}
	}
	var top int64
	waitFor(t, "both nodes at height 6", 60*time.Second, func() (bool, error) {
		h0, err := height(ctx, c0)
		if err != nil {
			return false, err
		}
		h3, err := height(ctx, c3)
		top = min(h0, h3)
		return top >= 6, err
	})
	for h := int64(1); h <= top; h++ {
		a, err := appHashAt(ctx, c0, h)
		if err != nil {
			t.Fatal(err)
		}
		b, err := appHashAt(ctx, c3, h)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("height %d: in-process app hash %s, socket app hash %s", h, a, b)
		}
	}
}

// validatorsAt returns the addresses of the validator set at the latest
// height.
func validatorAddrs(ctx context.Context, c *rpc.Client) (map[string]bool, error) {
	var res struct {
		Validators []struct {
			Address string `json:"address"`
		} `json:"validators"`
	}
	if err := c.Call(ctx, "validators", nil, &res); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, v := range res.Validators {
		out[v.Address] = true
	}
	return out, nil
}

// signersAt returns the validator addresses that signed the commit of h.
func signersAt(ctx context.Context, c *rpc.Client, h int64) (map[string]bool, error) {
	var res struct {
		SignedHeader struct {
			Commit struct {
				Signatures []struct {
					Flag    int    `json:"block_id_flag"`
					Address string `json:"validator_address"`
				} `json:"signatures"`
			} `json:"commit"`
		} `json:"signed_header"`
	}
	if err := c.Call(ctx, "commit", map[string]any{"height": strconv.FormatInt(h, 10)}, &res); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range res.SignedHeader.Commit.Signatures {
		if s.Flag == 2 {
			out[s.Address] = true
		}
	}
	return out, nil
}

// TestValidatorTxAddsAndRemovesValidator: on a running 4-validator network a
// `val:` tx makes a fifth node a validator, which then signs blocks; power
// 0 removes it again and the chain keeps committing.
func TestValidatorTxAddsAndRemovesValidator(t *testing.T) {
	cfgs := testnet(t, 5, 4)
	for _, cfg := range cfgs {
		start(t, cfg)
	}
	ctx := context.Background()
	c := client(t, cfgs[0])
	pv, err := privval.LoadFilePV(cfgs[4].PrivValidatorKeyFile(), cfgs[4].PrivValidatorStateFile())
	if err != nil {
		t.Fatal(err)
	}
	addr := validatorAddr(t, cfgs[4])
	key := base64.StdEncoding.EncodeToString(pv.PubKey())
	send := func(tx string) int64 {
		t.Helper()
		var res struct {
			TxResult struct {
				Code int    `json:"code"`
				Log  string `json:"log"`
			} `json:"tx_result"`
			Height string `json:"height"`
		}
		if err := c.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte(tx)}, &res); err != nil {
			t.Fatalf("%s: %v", tx, err)
		}
		if res.TxResult.Code != 0 {
			t.Fatalf("%s: code %d: %s", tx, res.TxResult.Code, res.TxResult.Log)
		}
		h, _ := strconv.ParseInt(res.Height, 10, 64)
		return h
	}

	added := send("val:" + key + "!10")
	waitFor(t, "the fifth node to sign a commit", 60*time.Second, func() (bool, error) {
		latest, err := height(ctx, c)
		if err != nil || latest < added+3 {
			return false, err
		}
		signers, err := signersAt(ctx, c, latest-1)
		return signers[addr], err
	})

	removed := send("val:" + key + "!0")
	waitFor(t, "the validator set without the fifth node, and 3 more blocks", 60*time.Second, func() (bool, error) {
		latest, err := height(ctx, c)
		if err != nil || latest < removed+5 {
			return false, err
		}
		vals, err := validatorAddrs(ctx, c)
		return !vals[addr] && len(vals) == 4, err
	})
}
