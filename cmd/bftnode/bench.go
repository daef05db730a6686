package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/bench"
	"github.com/bftnode/bftnode/config"
)

type benchOpts struct {
	nodes        []string
	rate         float64
	duration     time.Duration
	txSize       int
	connections  int
	sync, poll   bool
	http         bool
	drain        time.Duration
	noLoad       bool
	jsonOut      bool
	local        int
	localDir     string
	keep         bool
	startingPort int
	set          []string
	maxBlock     int64
	maxPending   int64
	cpuProfile   string
	out          string
}

func (c *cli) benchCmd() *cobra.Command {
	o := benchOpts{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a network with transactions and measure throughput, latency and resource use",
		Long: `bench submits unique kvstore txs (key=value, all of --tx-size bytes) to the
nodes' JSON-RPC with broadcast_tx_async (or --sync), pipelined over
--connections websockets (up to 64 requests awaiting their answer on each;
--http sends one HTTP POST per tx instead) spread over the --nodes
endpoints, and watches committed blocks through a websocket subscription to
tm.event='NewBlock' on the first endpoint (or --poll). It prints progress
every second to stderr and at the end: submitted and committed txs,
committed tx/s (overall, and the median of the 1-second windows of the
load), blocks/s, p50/p95/p99/max latency from submission to the block being
seen, rejected, failed (errors) and lost txs, blocks and mean block size;
--json prints one JSON object instead (keys such as committed_tx_per_s,
blocks_per_s, p50_ms, p95_ms, p99_ms, errors), and --out FILE.csv writes
one row per committed block seen (height, time, txs, this run's txs, ms
since the previous block, mean and max latency of this run's txs in it).
A tx is rejected when (with --sync) CheckTx refuses it, an error when the
RPC call fails, and lost when it was none of these nor committed by the end
of --drain: with broadcast_tx_async, txs a full mempool dropped show up as
lost.

With --local N it instead writes a throwaway N-validator testnet under a
temporary directory (bftnode testnet), starts the N nodes as child
processes (bftnode start), waits for height 2, runs the load against them
and also reports each node's CPU seconds during the load, idle and peak RSS
(VmHWM) and data-directory growth per committed tx. --set KEY=VALUE passes a
config.toml setting to the nodes (as its BFTNODE_* variable). The nodes are
stopped on exit, also on Ctrl-C; their logs are DIR/nodeI.log (kept with --keep).`,
		Example: `  bftnode bench --local 4 --duration 20s
  bftnode bench --local 4 --rate 1000 --set consensus.timeout_commit=0s --json --out blocks.csv
  bftnode bench --local 4 --no-load --duration 10s --set consensus.timeout_commit=0s
  bftnode bench --nodes http://127.0.0.1:26657,http://127.0.0.1:26667 --rate 500 --tx-size 1024 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.bench(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.nodes, "nodes", []string{"http://127.0.0.1:26657"}, "RPC endpoints to load, comma-separated; blocks are watched on the first")
	f.Float64Var(&o.rate, "rate", 0, "target tx/s over all connections; 0 submits flat out")
	f.DurationVar(&o.duration, "duration", 20*time.Second, "how long to submit txs")
	f.IntVar(&o.txSize, "tx-size", 250, "size of each tx in bytes")
	f.IntVar(&o.connections, "connections", 16, "concurrent submitters: websocket connections (HTTP ones with --http)")
	f.BoolVar(&o.http, "http", false, "submit each tx with its own HTTP POST instead of pipelining them over websockets")
	f.BoolVar(&o.sync, "sync", false, "use broadcast_tx_sync (counts CheckTx rejections) instead of broadcast_tx_async")
	f.BoolVar(&o.poll, "poll", false, "watch blocks by polling status/block instead of a websocket subscription")
	f.Int64Var(&o.maxPending, "max-pending", 2000, "hold submissions while this many txs are pending (submitted, not committed or rejected) or were refused for overload since the last block; keep it below the nodes' mempool.size; 0 for no limit")
	f.DurationVar(&o.drain, "drain", 10*time.Second, "after the load, how long to wait for pending txs to commit")
	f.BoolVar(&o.noLoad, "no-load", false, "submit nothing; only measure heights/s")
	f.BoolVar(&o.jsonOut, "json", false, "print the summary as one JSON object")
	f.StringVar(&o.out, "out", "", "write one CSV row per committed block seen during the run to this file")
	f.IntVar(&o.local, "local", 0, "start a throwaway testnet of N validators as child processes and load it (ignores --nodes)")
	f.StringVar(&o.localDir, "local-dir", "", "where to create the --local testnet's temporary directory (default the system's)")
	f.BoolVar(&o.keep, "keep", false, "keep the --local testnet's directory and logs")
	f.IntVar(&o.startingPort, "starting-port", 0, "p2p port of the --local node0 (0 finds free ports)")
	f.Int64Var(&o.maxBlock, "max-block-bytes", 0, "consensus_params.block.max_bytes in the --local genesis (0 keeps the default)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile (pprof) to this file")
	f.StringArrayVar(&o.set, "set", nil, "KEY=VALUE config.toml setting for the --local nodes (repeatable), e.g. consensus.timeout_commit=0s")
	return cmd
}

func (c *cli) bench(ctx context.Context, o benchOpts) error {
	logger, err := newLogger(c.stderr, orDefault(c.logLevel, "info"), c.logFormat)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	out, err := createBlocksOut(o.out)
	if err != nil {
		return err
	}
	defer out.abandon()
	runID := make([]byte, 4)
	_, _ = rand.Read(runID)
	bo := bench.Options{
		Endpoints: o.nodes, Rate: o.rate, Duration: o.duration, TxSize: o.txSize, Connections: o.connections,
		Sync: o.sync, HTTP: o.http, Poll: o.poll, MaxPending: o.maxPending, Drain: o.drain, NoLoad: o.noLoad, RunID: hex.EncodeToString(runID),
		Progress: c.stderr, Logger: logger,
	}
	if o.local == 0 {
		if len(o.set) > 0 || o.maxBlock != 0 {
			return errors.New("--set and --max-block-bytes need --local")
		}
		s, err := runWithCPU(ctx, bo)
		return c.printBench(s, o.jsonOut, out, err)
	}
	env, err := benchEnv(o.set)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find the bftnode binary: %w", err)
	}
	if o.localDir != "" {
		if err := os.MkdirAll(o.localDir, 0o755); err != nil {
			return fmt.Errorf("bench: --local-dir: %w", err)
		}
	}
	dir, err := os.MkdirTemp(o.localDir, "bftnode-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	net, err := bench.StartLocal(ctx, bench.LocalOptions{Exe: exe, Nodes: o.local, Dir: dir, StartingPort: o.startingPort, Env: env, MaxBlockBytes: o.maxBlock, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := net.Stop(); err != nil {
			logger.Warn("a node did not exit cleanly", "err", err)
		}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := net.WaitHeight(waitCtx, 2); err != nil {
		return fmt.Errorf("%w\nnode0 log tail:\n%s", err, net.LogTail(0, 2000))
	}
	before, err := net.Sample()
	if err != nil {
		return err
	}
	bo.Endpoints = net.Endpoints()
	s, runErr := runWithCPU(ctx, bo)
	if s != nil {
		after, err := net.Sample()
		if err != nil {
			return err
		}
		names, pids := net.Names(), net.PIDs()
		for i := range after {
			ns := bench.NodeStats{
				Name: names[i], PID: pids[i], CPUSeconds: after[i].CPUSeconds - before[i].CPUSeconds,
				IdleRSSBytes: before[i].RSSBytes, PeakRSSBytes: after[i].HWMBytes,
				DiskBytes:        after[i].DiskAllocated - before[i].DiskAllocated,
				DiskWrittenBytes: after[i].DiskApparent - before[i].DiskApparent,
			}
			if s.Committed > 0 {
				ns.DiskBytesPerTx = float64(ns.DiskBytes) / float64(s.Committed)
				ns.DiskWrittenPerTx = float64(ns.DiskWrittenBytes) / float64(s.Committed)
			}
			s.Nodes = append(s.Nodes, ns)
		}
	}
	if o.keep {
		logger.Info("kept the testnet", "dir", dir)
	}
	return c.printBench(s, o.jsonOut, out, runErr)
}

// runWithCPU runs the benchmark and adds the CPU time it used.
func runWithCPU(ctx context.Context, o bench.Options) (*bench.Summary, error) {
	before, errBefore := bench.ReadProc(os.Getpid())
	s, err := bench.Run(ctx, o)
	if after, errAfter := bench.ReadProc(os.Getpid()); s != nil && errBefore == nil && errAfter == nil {
		s.ClientCPUSeconds = after.CPUSeconds - before.CPUSeconds
	}
	return s, err
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// benchEnv turns --set KEY=VALUE settings into BFTNODE_* variables.
func benchEnv(set []string) ([]string, error) {
	keys := config.Keys()
	env := make([]string, 0, len(set))
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !slices.Contains(keys, k) {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE with a config.toml key such as consensus.timeout_commit (see `bftnode config show`)", kv)
		}
		env = append(env, config.EnvName(k)+"="+v)
	}
	return env, nil
}

func (c *cli) printBench(s *bench.Summary, jsonOut bool, out *blocksOut, runErr error) error {
	if s != nil {
		var err error
		if jsonOut {
			err = s.WriteJSON(c.stdout)
		} else {
			err = s.Format(c.stdout)
		}
		if err != nil {
			return err
		}
		if err := out.write(s); err != nil {
			return errors.Join(err, runErr)
		}
	}
	if errors.Is(runErr, context.Canceled) {
		return errInterrupted
	}
	return runErr
}

// blocksOut is the --out file, created before the load so that a bad path
// fails at once, and removed again if no summary gets written to it. A nil
// *blocksOut (no --out) does nothing.
type blocksOut struct {
	f       *os.File
	written bool
}

func createBlocksOut(path string) (*blocksOut, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: --out: %w", err)
	}
	return &blocksOut{f: f}, nil
}

// write writes the per-block CSV of s and closes the file.
func (b *blocksOut) write(s *bench.Summary) error {
	if b == nil {
		return nil
	}
	b.written = true
	err := s.WriteBlocksCSV(b.f)
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench: --out %s: %w", b.f.Name(), err)
	}
	return nil
}

// abandon closes and removes the file unless write was called.
func (b *blocksOut) abandon() {
	if b == nil || b.written {
		return
	}
	_ = b.f.Close()
	_ = os.Remove(b.f.Name())
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// errInterrupted reports a benchmark stopped early, after its summary.
var errInterrupted = errors.New("bench interrupted; the summary covers the load until then")
