package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/rpc"
)

// ErrLocalNet is wrapped by errors about starting or running a local testnet.
var ErrLocalNet = errors.New("bench: local testnet")

// Testnet port layout, as `bftnode testnet` assigns it: node i uses ports
// from base+10i: p2p at +0, RPC at +1, Prometheus at +4.
const (
	portsPerNode  = 10
	rpcPortOffset = 1
)

// LocalOptions configure StartLocal.
type LocalOptions struct {
	// Exe is the bftnode binary (os.Executable() for `bftnode bench`).
	Exe string
	// Nodes is the number of validators.
	Nodes int
	// Dir is an empty or missing directory for the homes and logs.
	Dir string
	// StartingPort is node0's p2p port; 0 picks free ports.
	StartingPort int
	// Env is added to the children's environment (BFTNODE_* settings).
	Env []string
	// MaxBlockBytes, if positive, replaces consensus_params.block.max_bytes
	// in the genesis.
	MaxBlockBytes int64
	// Logger; nil discards.
	Logger *slog.Logger
}

// LocalNet is a running local testnet of child processes.
type LocalNet struct {
	dir    string
	log    *slog.Logger
	nodes  []*localNode
	client *http.Client
}

type localNode struct {
	name     string
	home     string
	endpoint string
	cmd      *exec.Cmd
	logFile  *os.File
	done     chan struct{} // closed when the process has exited
	waitErr  error
}

// StartLocal writes an N-validator testnet with `bftnode testnet` under
// o.Dir and starts each node with `bftnode start`, each in its own process
// group, logging to DIR/nodeI.log. Call Stop to end them, also on error
// paths after it returned successfully.
func StartLocal(ctx context.Context, o LocalOptions) (*LocalNet, error) {
	if o.Nodes < 1 {
		return nil, fmt.Errorf("%w: %d nodes; want at least 1", ErrBadOptions, o.Nodes)
	}
	port := o.StartingPort
	if port == 0 {
		var err error
		if port, err = freePortBlock(o.Nodes * portsPerNode); err != nil {
			return nil, err
		}
	}
	netDir := filepath.Join(o.Dir, "net")
	out, err := exec.CommandContext(ctx, o.Exe, "testnet", "--v", strconv.Itoa(o.Nodes), "--o", netDir,
		"--starting-port", strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: %s testnet: %v: %s", ErrLocalNet, o.Exe, err, out)
	}
	if o.MaxBlockBytes > 0 {
		for i := range o.Nodes {
			if err := setMaxBlockBytes(filepath.Join(netDir, fmt.Sprintf("node%d", i)), o.MaxBlockBytes); err != nil {
				return nil, err
			}
		}
	}
	procs := make([]NodeProc, o.Nodes)
	for i := range procs {
		home := filepath.Join(netDir, fmt.Sprintf("node%d", i))
		procs[i] = NodeProc{
			Name: fmt.Sprintf("node%d", i), Home: home,
			Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port+portsPerNode*i+rpcPortOffset),
			Args:     []string{o.Exe, "start", "--home", home}, Env: o.Env,
		}
	}
	return StartNodes(o.Dir, procs, o.Logger)
}

// NodeProc is how to start one node of a local network of child processes:
// of bftnode, or of another node software that serves the same RPC.
type NodeProc struct {
	Name string
	// Home is the node's home directory; its disk use is read from
	// Home/data.
	Home string
	// Endpoint is the node's RPC address (http://host:port).
	Endpoint string
	// Args is the command line, the program first.
	Args []string
	// Env is added to the process's environment.
	Env []string
}

// StartNodes starts each node as a child process in its own process group,
// logging to dir/NAME.log. Call Stop to end them, also on error paths
// after it returned successfully.
func StartNodes(dir string, procs []NodeProc, logger *slog.Logger) (*LocalNet, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &LocalNet{dir: dir, log: logger, client: &http.Client{Timeout: 5 * time.Second}}
	for _, p := range procs {
		if len(p.Args) == 0 {
			_ = n.Stop()
			return nil, fmt.Errorf("%w: %s has no command line", ErrBadOptions, p.Name)
		}
		nd := &localNode{name: p.Name, home: p.Home, endpoint: p.Endpoint, done: make(chan struct{})}
		if err := nd.start(dir, p); err != nil {
			_ = n.Stop()
			return nil, err
		}
		n.nodes = append(n.nodes, nd)
		logger.Info("started node", "node", nd.name, "pid", nd.cmd.Process.Pid, "rpc", nd.endpoint)
	}
	return n, nil
}

// setMaxBlockBytes rewrites the genesis of the node at home.
func setMaxBlockBytes(home string, maxBytes int64) error {
	cfg := config.Default(home)
	path := cfg.GenesisFile()
	g, err := config.LoadGenesis(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLocalNet, err)
	}
	g.ConsensusParams.Block.MaxBytes = maxBytes
	if err := g.ValidateAndComplete(); err != nil {
		return fmt.Errorf("%w: max block bytes %d: %v", ErrBadOptions, maxBytes, err)
	}
	if err := g.Save(path); err != nil {
		return fmt.Errorf("%w: %v", ErrLocalNet, err)
	}
	return nil
}

func (nd *localNode) start(dir string, p NodeProc) error {
	f, err := os.Create(filepath.Join(dir, nd.name+".log"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLocalNet, err)
	}
	nd.logFile = f
	nd.cmd = exec.Command(p.Args[0], p.Args[1:]...)
	nd.cmd.Env = append(os.Environ(), p.Env...)
	nd.cmd.Stdout, nd.cmd.Stderr = f, f
	// Own process group: a Ctrl-C at the terminal reaches only the bench,
	// which then stops the nodes itself; Pdeathsig ends them if it dies.
	nd.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := nd.cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: start %s: %v", ErrLocalNet, nd.name, err)
	}
	go func() {
		nd.waitErr = nd.cmd.Wait()
		_ = f.Close()
		close(nd.done)
	}()
	return nil
}

// freePortBlock finds a base port such that the n ports from it can be
// listened on now (a later start may still race with other programs).
func freePortBlock(n int) (int, error) {
	for try := 0; try < 20; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrLocalNet, err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if base+n > 65535 {
			base = 20000 + base%20000
		}
		if PortsFree(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("%w: no block of %d free ports found", ErrLocalNet, n)
}

// PortsFree reports whether the n ports from base can be listened on now.
func PortsFree(base, n int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// Endpoints are the nodes' RPC addresses, node0 first.
func (n *LocalNet) Endpoints() []string {
	out := make([]string, len(n.nodes))
	for i, nd := range n.nodes {
		out[i] = nd.endpoint
	}
	return out
}

// Names are the nodes' names, node0 first.
func (n *LocalNet) Names() []string {
	out := make([]string, len(n.nodes))
	for i, nd := range n.nodes {
		out[i] = nd.name
	}
	return out
}

// PIDs are the nodes' process IDs, node0 first.
func (n *LocalNet) PIDs() []int {
	out := make([]int, len(n.nodes))
	for i, nd := range n.nodes {
		out[i] = nd.cmd.Process.Pid
	}
	return out
}

// WaitHeight waits until every node reports at least height h, or a node
// exits, or ctx ends.
func (n *LocalNet) WaitHeight(ctx context.Context, h int64) error {
	for _, nd := range n.nodes {
		c, err := rpc.NewClient(nd.endpoint, n.client)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrLocalNet, err)
		}
		for {
			got, err := latestHeight(ctx, c)
			if err == nil && got >= h {
				break
			}
			select {
			case <-nd.done:
				return fmt.Errorf("%w: %s exited (%v); see %s", ErrLocalNet, nd.name, nd.waitErr, nd.logFile.Name())
			case <-ctx.Done():
				return fmt.Errorf("%w: waiting for %s to reach height %d: %w", ErrLocalNet, nd.name, h, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// NodeSample is one reading of a local node's resource use.
type NodeSample struct {
	ProcSample
	DiskAllocated int64 // bytes allocated to its data directory
	DiskApparent  int64 // bytes written in its data directory
}

// Sample reads each node's CPU and memory use and its data directory's
// disk use, node0 first.
func (n *LocalNet) Sample() ([]NodeSample, error) {
	out := make([]NodeSample, len(n.nodes))
	for i, nd := range n.nodes {
		var err error
		if out[i].ProcSample, err = ReadProc(nd.cmd.Process.Pid); err != nil {
			return nil, fmt.Errorf("%s: %w", nd.name, err)
		}
		if out[i].DiskAllocated, out[i].DiskApparent, err = DiskUsage(filepath.Join(nd.home, "data")); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Stop sends SIGTERM to every node, waits up to 10 s each, then kills the
// rest. It returns the first abnormal exit.
func (n *LocalNet) Stop() error {
	for _, nd := range n.nodes {
		_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGTERM)
	}
	var errs []error
	deadline := time.After(10 * time.Second)
	for _, nd := range n.nodes {
		select {
		case <-nd.done:
		case <-deadline:
			n.log.Warn("node did not stop; killing it", "node", nd.name)
			_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
			<-nd.done
		}
		if nd.waitErr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", nd.name, nd.waitErr))
		}
	}
	return errors.Join(errs...)
}

// LogTail returns up to limit bytes from the end of node i's log.
func (n *LocalNet) LogTail(i, limit int) string {
	if i < 0 || i >= len(n.nodes) {
		return ""
	}
	f, err := os.Open(n.nodes[i].logFile.Name())
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > int64(limit) {
		_, _ = f.Seek(st.Size()-int64(limit), io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, int64(limit)))
	return string(b)
}
