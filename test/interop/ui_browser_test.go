package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumNames are the executables tried for the headless browser, after
// $CHROMIUM_BIN.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// chromiumPath finds Chromium, or fails the test saying how to get it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("the web view's browser tests need Chromium, and none of %s is on PATH: install it with "+
		"`apt-get install -y chromium` (Debian; `make chromium` does it), or set CHROMIUM_BIN to a Chromium or Chrome binary",
		strings.Join(chromiumNames, ", "))
	return ""
}

// newBrowser starts a headless Chromium for the test, with extra options,
// and returns a tab's context; the browser stops at the end of the test.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.WindowSize(1400, 1100),
	)
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromiumPath(t), err)
	}
	return ctx
}

// screenshot saves the tab's whole page as PNG under $UI_SCREENSHOT_DIR
// (`make ui-screenshots` sets it to docs/), and does nothing without it.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("UI_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pageEval evaluates a JavaScript expression in the tab and decodes its
// JSON value into out.
func pageEval(ctx context.Context, expr string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(s), out)
}

// gridJS reads the page: each validator row's height, and for each height
// grid, per validator, the prevote and precommit cells of every round.
const gridJS = `(() => {
  const rows = [...document.querySelectorAll('#validators tr[data-n]')].map(r => ({
    n: +r.dataset.n, h: +r.querySelector('td.h').textContent, self: r.classList.contains('self')}));
  const grids = [...document.querySelectorAll('table.grid')].map(g => ({
    h: +g.dataset.h,
    cells: [...g.querySelectorAll('td.vote')].map(c => ({n: +c.dataset.n, r: +c.dataset.r, t: c.dataset.t, text: c.textContent}))}));
  return {status: document.getElementById('status').textContent, rows, grids};
})()`

type pageGrid struct {
	Status string
	Rows   []struct {
		N, H int64
		Self bool
	}
	Grids []struct {
		H     int64
		Cells []struct {
			N, R    int
			T, Text string
		}
	}
}

// TestUILiveFollowsNetwork opens node0's web view in headless Chromium
// against a running 4-validator network: the height the page shows for
// node0 advances, every validator's row shows a height, and a height's
// grid fills with a prevote and a precommit from each validator, whose
// precommits name the block the chain committed there.
func TestUILiveFollowsNetwork(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{Flags: []string{"--rpc.ui=true"}})
	nw.waitHeight(1, 2*time.Minute)
	ctx := newBrowser(t)
	url := nw.nodes[0].RPC() + "/ui/"
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	// A few txs, for the txs-per-block chart.
	for i := range 20 {
		var res struct{ Code uint32 }
		if err := rawCall(nw.nodes[i%4].RPC(), fmt.Sprintf(`broadcast_tx_sync?tx="ui%d=%d"`, i, i), &res); err != nil || res.Code != 0 {
			t.Fatalf("broadcast a tx: %v (code %d)", err, res.Code)
		}
	}
	var first int64
	var full pageGrid
	var fullHeight int64
	poll(t, "the page's height to advance and a grid to fill", 2*time.Minute, func() (bool, error) {
		var g pageGrid
		if err := pageEval(ctx, gridJS, &g); err != nil {
			return false, err
		}
		if strings.HasPrefix(g.Status, "error") {
			return false, fmt.Errorf("the page says %q", g.Status)
		}
		var self int64
		for _, r := range g.Rows {
			if r.Self {
				self = r.H
			}
		}
		if first == 0 {
			first = self
		}
		if h := filledGrid(g, 4); h > 0 && fullHeight == 0 {
			full, fullHeight = g, h
		}
		return first > 0 && self >= first+2 && fullHeight > 0, nil
	})
	if len(full.Rows) != 4 {
		t.Fatalf("the page lists %d validators, want 4", len(full.Rows))
	}
	for _, r := range full.Rows {
		if r.H <= 0 {
			t.Errorf("validator v%d has no height on the page", r.N)
		}
	}
	// The precommits for the block the grid shows are the chain's block.
	nw.waitHeight(fullHeight, time.Minute)
	var block struct {
		BlockID struct {
			Hash string `json:"hash"`
		} `json:"block_id"`
	}
	if err := rawCall(nw.nodes[0].RPC(), fmt.Sprintf("block?height=%d", fullHeight), &block); err != nil {
		t.Fatal(err)
	}
	committed := 0
	for _, g := range full.Grids {
		if g.H != fullHeight {
			continue
		}
		for _, c := range g.Cells {
			if c.T == "precommit" && c.Text != "" && c.Text != "nil" {
				if !strings.HasPrefix(block.BlockID.Hash, c.Text) {
					t.Errorf("height %d: v%d's precommit in round %d shows %q; the committed block is %s", fullHeight, c.N, c.R, c.Text, block.BlockID.Hash)
				}
				committed++
			}
		}
	}
	if committed == 0 {
		t.Fatalf("height %d: no precommit for a block on the page", fullHeight)
	}
	screenshot(t, ctx, "ui-localnet.png")
	t.Logf("page height went from %d to past %d; height %d's grid filled for all 4 validators", first, first+2, fullHeight)
}

// filledGrid returns a height whose grid has, for each of n validators, a
// prevote and a precommit in some round (0 for none).
func filledGrid(g pageGrid, n int) int64 {
	for _, grid := range g.Grids {
		has := map[string]bool{}
		for _, c := range grid.Cells {
			if c.Text != "" {
				has[fmt.Sprintf("%d/%s", c.N, c.T)] = true
			}
		}
		ok := true
		for i := range n {
			ok = ok && has[fmt.Sprintf("%d/prevote", i)] && has[fmt.Sprintf("%d/precommit", i)]
		}
		if ok {
			return grid.H
		}
	}
	return 0
}
