package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/app/kvstore"
	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/rpc"
)

// shortEvidenceAge makes the evidence of cfg's chain expire after 5 blocks
// and a millisecond, so that pruning is not held back by it.
func shortEvidenceAge(t *testing.T, cfg config.Config) {
	t.Helper()
	g, err := config.LoadGenesis(cfg.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	g.ConsensusParams.Evidence.MaxAgeNumBlocks, g.ConsensusParams.Evidence.MaxAgeDuration = 5, time.Millisecond
	if err := g.Save(cfg.GenesisFile()); err != nil {
		t.Fatal(err)
	}
}

// heights returns the earliest and latest stored heights /status shows.
func heights(ctx context.Context, c *rpc.Client) (earliest, latest int64, err error) {
	var st struct {
		SyncInfo struct {
			Earliest string `json:"earliest_block_height"`
			Latest   string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		return 0, 0, err
	}
	if earliest, err = strconv.ParseInt(st.SyncInfo.Earliest, 10, 64); err != nil {
		return 0, 0, err
	}
	latest, err = strconv.ParseInt(st.SyncInfo.Latest, 10, 64)
	return earliest, latest, err
}

// TestPruning runs a single validator that keeps 20 blocks, by its own
// [storage] retain_blocks or by the retain_height its application returns.
// Past height 150 the node holds no more than the last 20 blocks (plus
// those made during one pruning interval); a pruned height is answered with
// the lowest height kept, by every height-taking method; a tx of a pruned
// height is no longer found while a recent one is; and the node restarts
// from its pruned store.
func TestPruning(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(t *testing.T, cfg *config.Config)
	}{
		{"node retain_blocks", func(_ *testing.T, cfg *config.Config) { cfg.Storage.RetainBlocks = 20 }},
		{"app retain_height", func(t *testing.T, cfg *config.Config) {
			cfg.ProxyApp = serveApp(t, &kvstore.Retaining{App: openKVStore(t), Blocks: 20})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testnet(t, 1, 0)[0]
			shortEvidenceAge(t, cfg)
			cfg.Consensus.TimeoutCommit = 0
			cfg.Storage.Pruning.Interval = 100 * time.Millisecond
			tc.set(t, &cfg)
			stop := start(t, cfg)
			ctx := context.Background()
			c := client(t, cfg)

			waitFor(t, "the node at height 1", 30*time.Second, func() (bool, error) {
				h, err := height(ctx, c)
				return h >= 1, err
			})
			var early struct {
				Height string `json:"height"`
			}
			if err := c.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte("early=1")}, &early); err != nil {
				t.Fatal(err)
			}
			var earliest, latest int64
			waitFor(t, "height 150, pruned", 120*time.Second, func() (ok bool, err error) {
				earliest, latest, err = heights(ctx, c)
				return latest >= 150 && earliest > 100, err
			})
			if kept := latest - earliest + 1; kept < 20 {
				t.Fatalf("the node keeps heights %d..%d, fewer than the 20 asked", earliest, latest)
			}
			var recent struct {
				Height string `json:"height"`
			}
			if err := c.Call(ctx, "broadcast_tx_commit", map[string]any{"tx": []byte("recent=1")}, &recent); err != nil {
				t.Fatal(err)
			}
			earliest, _, err := heights(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			for _, method := range []string{"block", "block_results", "commit", "validators", "header"} {
				err := c.Call(ctx, method, map[string]any{"height": "2"}, nil)
				// The base may move between the two calls: accept any base
				// at or after the one /status showed.
				if err == nil || !strings.Contains(err.Error(), "height 2 is not available, lowest height is ") {
					t.Fatalf("%s at pruned height 2: %v, want \"height 2 is not available, lowest height is …\"", method, err)
				}
				low, perr := strconv.ParseInt(err.Error()[strings.LastIndex(err.Error(), " ")+1:], 10, 64)
				if perr != nil || low < earliest {
					t.Fatalf("%s at pruned height 2: %v names lowest height %d, /status showed %d", method, err, low, earliest)
				}
			}
			for tx, found := range map[string]bool{"early=1": false, "recent=1": true} {
				h := sha256.Sum256([]byte(tx))
				err := c.Call(ctx, "tx", map[string]any{"hash": fmt.Sprintf("%X", h[:])}, nil)
				if (err == nil) != found {
					t.Fatalf("tx %q (of heights %s and %s): err %v, want it found: %v", tx, early.Height, recent.Height, err, found)
				}
			}

			stop()
			start(t, cfg)
			waitFor(t, "the restarted node to go on", 60*time.Second, func() (bool, error) {
				_, h, err := heights(ctx, c)
				return h > latest+20, err
			})
		})
	}
}
