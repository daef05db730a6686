package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uiLoadWindow is how long each window of TestUIFivePagesCost measures,
// and uiLoadPairs how many pairs of windows (without, with pages) it takes.
const (
	uiLoadWindow = 8 * time.Second
	uiLoadPairs  = 3
)

// loadSample is what node0 did over one window: its CPU time as a share of
// one core, the heights it committed per second, and its CPU time per
// height in milliseconds.
type loadSample struct {
	cpu, hps, cpuPerHeight float64
}

func (s loadSample) String() string {
	return fmt.Sprintf("%.1f%% CPU, %.2f heights/s, %.1f ms CPU/height", s.cpu*100, s.hps, s.cpuPerHeight)
}

// TestUIFivePagesCost measures what five open web views cost the node that
// serves them. On a 4-validator network with the view on node0 it
// alternates windows with no page open and with five pages following
// node0 (each subscribed to every consensus event over three websockets),
// and logs node0's CPU, heights per second and CPU per height for each
// (medians over the windows; alternating cancels the machine's drift). The
// browser runs on the same machine, niced, standing for viewers elsewhere;
// a third window has CometBFT's client hold the five pages' subscriptions
// instead, which is the node's share of the cost without the browser's.
//
// It asserts what holds on any machine: every page stays live through its
// window (the node never drops a page's subscriptions as too slow, and the
// height it shows advances). The 5% figures are measured, not asserted: on
// a shared machine two windows without any page differ by more than that.
func TestUIFivePagesCost(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{Flags: []string{"--rpc.ui=true"}})
	nw.waitHeight(2, 2*time.Minute)
	// The browser stands for viewers on other machines: at the lowest
	// priority it takes only CPU time the nodes leave idle.
	nice, err := exec.LookPath("nice")
	if err != nil {
		t.Fatalf("nice(1) runs the browser at low priority: %v", err)
	}
	browser := newBrowser(t, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
		cmd.Args = append([]string{"nice", "-n", "19"}, cmd.Args...)
		cmd.Path = nice
	}))
	url := nw.nodes[0].RPC() + "/ui/"
	tabs := []context.Context{browser}
	for range 4 {
		tab, cancel := chromedp.NewContext(browser)
		t.Cleanup(cancel)
		tabs = append(tabs, tab)
	}
	goTo := func(u string, live bool) {
		t.Helper()
		for i, tab := range tabs {
			if _, err := chromedp.Run(tab, chromedp.Navigate(u)); err != nil {
				t.Fatalf("page %d: open %s: %v", i, u, err)
			}
			if live {
				waitLive(t, tab)
			}
		}
	}
	measure := func() loadSample {
		t.Helper()
		cpu0, h0, t0 := nw.cpuTicks(0), nw.mustHeight(0), time.Now()
		time.Sleep(uiLoadWindow) // a measurement window, not a wait for an event
		cpu1, h1, el := nw.cpuTicks(0), nw.mustHeight(0), time.Since(t0).Seconds()
		cpuSec := float64(cpu1-cpu0) / clockTicks
		return loadSample{cpu: cpuSec / el, hps: float64(h1-h0) / el, cpuPerHeight: cpuSec * 1000 / float64(max(h1-h0, 1))}
	}
	var off, on, subs []loadSample
	for range uiLoadPairs {
		goTo("about:blank", false)
		off = append(off, measure())
		subs = append(subs, measureSubscribers(t, nw, measure))
		goTo(url, true)
		on = append(on, measure())
		for i, tab := range tabs {
			var g pageGrid
			if err := pageEval(tab, gridJS, &g); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(g.Status, "live") {
				t.Fatalf("page %d after a window of %v: %q (the node dropped its subscriptions?)", i, uiLoadWindow, g.Status)
			}
			waitLive(t, tab)
		}
	}
	offM := median(off)
	rise := func(a, b float64) float64 { return (b - a) / a * 100 }
	t.Logf("node0 without pages: %v (windows %v)", offM, off)
	for _, c := range []struct {
		what string
		s    []loadSample
	}{{"5 pages' subscriptions, no browser", subs}, {"5 pages in the browser", on}} {
		m := median(c.s)
		t.Logf("node0 with %s: %v (windows %v)", c.what, m, c.s)
		t.Logf("  CPU %+.1f%% (%+.1f points of a core), heights/s %+.1f%%, CPU per height %+.1f%%",
			rise(offM.cpu, m.cpu), (m.cpu-offM.cpu)*100, rise(offM.hps, m.hps), rise(offM.cpuPerHeight, m.cpuPerHeight))
	}
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicks = 100

// cpuTicks is node i's process CPU time (user + system) in clock ticks.
func (nw *network) cpuTicks(i int) int64 {
	nw.t.Helper()
	nd := nw.nodes[i]
	nd.mu.Lock()
	pid := nd.cmd.Process.Pid
	nd.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		nw.t.Fatalf("%s's CPU time: %v", nd.name, err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		nw.t.Fatalf("%s: unreadable /proc/%d/stat", nd.name, pid)
	}
	return utime + stime
}

func (nw *network) mustHeight(i int) int64 {
	nw.t.Helper()
	h, err := nw.height(i)
	if err != nil {
		nw.t.Fatal(err)
	}
	return h
}

// waitLive waits until the page in tab follows the node: live, and the
// height it shows for the node advancing.
func waitLive(t *testing.T, tab context.Context) {
	t.Helper()
	var first int64
	poll(t, "a page to follow node0", time.Minute, func() (bool, error) {
		var g pageGrid
		if err := pageEval(tab, gridJS, &g); err != nil {
			return false, err
		}
		for _, r := range g.Rows {
			if r.Self && strings.HasPrefix(g.Status, "live") {
				if first == 0 {
					first = r.H
				}
				return first > 0 && r.H > first, nil
			}
		}
		return false, nil
	})
}

// pageQueries are the web view's subscriptions, by websocket (ui/assets/app.js).
var pageQueries = [][]string{
	{"Vote", "NewRoundStep", "NewRound", "CompleteProposal", "NewBlock"},
	{"Polka", "Lock", "Relock", "Unlock", "ValidBlock"},
	{"TimeoutPropose", "TimeoutWait", "NewEvidence", "ValidatorSetUpdates"},
}

// measureSubscribers measures a window in which CometBFT's RPC client holds
// five pages' subscriptions to node0, reading every event.
func measureSubscribers(t *testing.T, nw *network, measure func() loadSample) loadSample {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 5 {
		for _, g := range pageQueries {
			c, _ := cometClient(t, nw.nodes[0])
			defer func() { _ = c.Stop() }()
			for _, typ := range g {
				ch, err := c.Subscribe(ctx, "load", fmt.Sprintf("tm.event = '%s'", typ), 100)
				if err != nil {
					t.Fatalf("subscribe to %s: %v", typ, err)
				}
				go func() {
					for range ch {
					}
				}()
			}
		}
	}
	return measure()
}

// median is the median of each figure of the samples.
func median(s []loadSample) loadSample {
	pick := func(f func(loadSample) float64) float64 {
		v := make([]float64, len(s))
		for i, x := range s {
			v[i] = f(x)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return loadSample{
		cpu:          pick(func(x loadSample) float64 { return x.cpu }),
		hps:          pick(func(x loadSample) float64 { return x.hps }),
		cpuPerHeight: pick(func(x loadSample) float64 { return x.cpuPerHeight }),
	}
}
