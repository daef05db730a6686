// Command benchcompare (`make bench-compare`) measures CometBFT and bftnode
// side by side on this machine: for each figure it starts a fresh network
// of each system on the same loopback ports (built-in kvstore, zero commit
// delay, otherwise defaults), runs the same `bftnode bench --nodes …`
// against it, alternating the systems, and prints the medians and ratios as
// a Markdown table and as JSON. Flat-out figures first find, per system,
// the --max-pending past which the committed rate stops rising.
//
// It takes 30-40 minutes; BENCH_QUICK=1 (one run, shorter loads) takes
// about 12. BENCH_RUNS, BENCH_FIGURES (e.g. tx250,idle) and BENCH_JSON (a file
// for the JSON) adjust it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bftnode/bftnode/bench"
)

type options struct {
	cometbft, bftnode string
	runs              int
	quick             bool
	figures           []string
	port              int
	dir               string
	jsonOut           string
	load, sweep, idle time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench-compare:", err)
		os.Exit(1)
	}
}

func parseOptions(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("benchcompare", flag.ContinueOnError)
	o := options{}
	fs.StringVar(&o.cometbft, "cometbft", ".bin/cometbft", "the CometBFT v0.40.0 binary")
	fs.StringVar(&o.bftnode, "bftnode", "build/bftnode", "the bftnode binary (nodes and load tool)")
	fs.IntVar(&o.runs, "runs", 3, "runs per figure and system (env BENCH_RUNS)")
	fs.BoolVar(&o.quick, "quick", false, "one run each, short loads: a rough pass in minutes (env BENCH_QUICK=1)")
	figs := fs.String("figures", "", "comma-separated figures to measure: tx250,tx1k,tx250v7,idle,lat1000 (default all; env BENCH_FIGURES)")
	fs.IntVar(&o.port, "port", 0, "p2p port of node0; node i uses port+10i (p2p) and port+10i+1 (RPC); 0 finds a free block, used by every network")
	fs.StringVar(&o.dir, "dir", "", "where to create the networks' temporary directories (default the system's)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the JSON report to this file (env BENCH_JSON)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := getenv("BENCH_RUNS"); v != "" && !set["runs"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, fmt.Errorf("BENCH_RUNS=%q: want a number of runs", v)
		}
		o.runs = n
	}
	if v := getenv("BENCH_QUICK"); !set["quick"] && v != "" && v != "0" {
		o.quick = true
	}
	if v := getenv("BENCH_FIGURES"); *figs == "" {
		*figs = v
	}
	if v := getenv("BENCH_JSON"); o.jsonOut == "" {
		o.jsonOut = v
	}
	o.load, o.sweep, o.idle = 20*time.Second, 10*time.Second, 10*time.Second
	if o.quick {
		if !set["runs"] && getenv("BENCH_RUNS") == "" {
			o.runs = 1
		}
		o.load, o.sweep, o.idle = 10*time.Second, 8*time.Second, 5*time.Second
	}
	if o.runs < 1 {
		return o, fmt.Errorf("runs %d: want at least 1", o.runs)
	}
	var known []string
	for _, f := range allFigures() {
		known = append(known, f.key)
	}
	if *figs != "" {
		for _, f := range strings.Split(*figs, ",") {
			if !slices.Contains(known, f) {
				return o, fmt.Errorf("figure %q: want some of %s", f, strings.Join(known, ","))
			}
			o.figures = append(o.figures, f)
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, os.Getenv)
	if err != nil {
		return err
	}
	for _, bin := range []string{o.cometbft, o.bftnode} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (run `make tools build`, or pass -cometbft and -bftnode)", err)
		}
	}
	if o.port == 0 {
		if o.port, err = freeFixedBlock(maxValidators * portsPerNode); err != nil {
			return err
		}
	}
	c := &comparer{o: o, progress: stderr, systems: []*system{cometSystem(o.cometbft), bftnodeSystem(o.bftnode)}}
	rep := &report{
		Date: time.Now().UTC(), Machine: cpuModel(), CPUs: runtime.NumCPU(), LoadStart: loadavg(),
		Command: commandLine(args), Runs: o.runs, Quick: o.quick, CometBFT: binVersion(o.cometbft),
		MaxPending: map[string]map[string]int64{}, Faults: map[string]faults{},
	}
	c.logf("comparing %s and %s: %d run(s) per figure and system; load average %s", o.cometbft, o.bftnode, o.runs, rep.LoadStart)
	for _, fig := range allFigures() {
		if len(o.figures) > 0 && !slices.Contains(o.figures, fig.key) {
			continue
		}
		res, caps, err := c.figure(ctx, fig)
		if err != nil {
			return fmt.Errorf("figure %s: %w", fig.key, err)
		}
		if fig.flatOut {
			rep.MaxPending[fig.key] = caps
		}
		for _, rs := range fig.rows {
			rep.Rows = append(rep.Rows, rs.row(res[cometName], res[bftName]))
		}
		for sys, rs := range res {
			f := rep.Faults[sys]
			for _, r := range rs {
				f.Refused, f.Errors = f.Refused+r.Refused, f.Errors+r.Errors
				f.Lost, f.Duplicates = f.Lost+r.Lost, f.Duplicates+r.Duplicates
			}
			rep.Faults[sys] = f
		}
	}
	rep.LoadEnd = loadavg()
	if err := rep.writeTable(stdout); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "\n%s\n", js); err != nil {
		return err
	}
	if o.jsonOut != "" {
		return os.WriteFile(o.jsonOut, append(js, '\n'), 0o644)
	}
	return nil
}

type comparer struct {
	o        options
	progress io.Writer
	systems  []*system
}

func (c *comparer) logf(format string, args ...any) {
	fmt.Fprintf(c.progress, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// figure measures fig on every system: the --max-pending sweep of a
// flat-out figure, then the runs, alternating which system goes first.
func (c *comparer) figure(ctx context.Context, fig figure) (map[string][]runResult, map[string]int64, error) {
	caps := map[string]int64{}
	for _, sys := range c.systems {
		caps[sys.name] = 2000 // bench's default
		if !fig.flatOut {
			continue
		}
		best, rate, err := bestCap(pendingCaps(sys.mempoolSize), func(cap int64) (float64, bool, error) {
			r, err := c.run(ctx, fig, sys, cap, c.o.sweep, fmt.Sprintf("sweep --max-pending %d", cap))
			return r.TxPerS, r.clean(), err
		})
		if err != nil {
			return nil, nil, err
		}
		c.logf("%s %s: best --max-pending %d (%.0f tx/s)", fig.key, sys.name, best, rate)
		caps[sys.name] = best
	}
	res := map[string][]runResult{}
	for i := range c.o.runs {
		order := c.systems
		if i%2 == 1 {
			order = []*system{c.systems[1], c.systems[0]}
		}
		for _, sys := range order {
			d := c.o.load
			if fig.noLoad {
				d = c.o.idle
			}
			r, err := c.run(ctx, fig, sys, caps[sys.name], d, fmt.Sprintf("run %d/%d", i+1, c.o.runs))
			if err != nil {
				return nil, nil, err
			}
			res[sys.name] = append(res[sys.name], r)
		}
	}
	return res, caps, nil
}

// run starts a fresh network of sys for fig, loads it for d with at most
// maxPending txs pending, and stops it.
func (c *comparer) run(ctx context.Context, fig figure, sys *system, maxPending int64, d time.Duration, what string) (res runResult, err error) {
	tag := fmt.Sprintf("%s %s %s", fig.key, sys.name, what)
	dir, err := os.MkdirTemp(c.o.dir, "bench-compare-"+sys.name+"-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	if err := c.waitPorts(ctx, fig.validators*portsPerNode); err != nil {
		return res, err
	}
	procs, err := sys.nodes(ctx, sys.bin, dir, fig.validators, c.o.port)
	if err != nil {
		return res, err
	}
	c.logf("%s: starting %d nodes", tag, fig.validators)
	net, err := bench.StartNodes(dir, procs, nil)
	if err != nil {
		return res, err
	}
	defer func() {
		if stopErr := net.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("%s: a node did not exit cleanly: %w", tag, stopErr)
		}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := net.WaitHeight(waitCtx, 2); err != nil {
		return res, fmt.Errorf("%w\nnode0 log tail:\n%s", err, net.LogTail(0, 2000))
	}
	before, err := net.Sample()
	if err != nil {
		return res, err
	}
	args := append([]string{"bench", "--nodes", strings.Join(net.Endpoints(), ","), "--json",
		"--duration", d.String(), "--max-pending", strconv.FormatInt(maxPending, 10)}, fig.args...)
	out, err := c.benchCmd(ctx, tag, args)
	if err != nil {
		return res, err
	}
	after, err := net.Sample()
	if err != nil {
		return res, fmt.Errorf("%s: %w (a node exited?)\nnode0 log tail:\n%s", tag, err, net.LogTail(0, 2000))
	}
	if res, err = parseBenchJSON(out); err != nil {
		return res, err
	}
	res.addNodeUse(before, after)
	c.logf("%s: %.0f tx/s, %.1f heights/s, p50 %.1f ms, p99 %.1f ms, peak RSS %.0f MiB, %.0f B disk and %.0f µs CPU per tx per node; %d refused, %d errors, %d lost",
		tag, res.TxPerS, res.BlocksPerS, res.P50Ms, res.P99Ms, float64(res.PeakRSSBytes)/mib, res.DiskBytesPerTx, res.CPUSecPerTx*1e6, res.Refused, res.Errors, res.Lost)
	return res, nil
}

// freeFixedBlock finds n free ports below the kernel's ephemeral range
// (from 32768), where outgoing connections, ours and other programs', do
// not take them between runs.
func freeFixedBlock(n int) (int, error) {
	for base := 21000; base+n < 32768; base += 500 {
		if bench.PortsFree(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free ports from 21000 to 32767: pass -port", n)
}

// waitPorts waits up to 30 s for the n ports of a network to be free: the
// previous network's may take a moment, and another program holding them
// would answer the load in place of the nodes.
func (c *comparer) waitPorts(ctx context.Context, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for !bench.PortsFree(c.o.port, n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("ports %d-%d are in use by another program: pass -port with a free block of %d", c.o.port, c.o.port+n-1, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// benchCmd runs `bftnode bench`, passing its progress lines and warnings
// (such as why a connection failed) on, and
// returns its output (the JSON summary).
func (c *comparer) benchCmd(ctx context.Context, tag string, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.o.bftnode, append(args, "--log-level", "warn")...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var tail []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		fmt.Fprintf(c.progress, "    %s | %s\n", tag, sc.Text())
		tail = append(tail[max(0, len(tail)-9):], sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("%s: bftnode bench: %w\n%s", tag, err, strings.Join(tail, "\n"))
	}
	return out.Bytes(), nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// binVersion is the main module version a Go binary was built from.
func binVersion(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown"
	}
	return bi.Main.Version
}

// commandLine is how this comparison was started, with the BENCH_*
// settings that shaped it.
func commandLine(args []string) string {
	var env []string
	for _, k := range []string{"BENCH_QUICK", "BENCH_RUNS", "BENCH_FIGURES"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return strings.TrimSpace(strings.Join(env, " ") + " make bench-compare " + strings.Join(args, " "))
}
