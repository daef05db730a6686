package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/internal/testport"
	"github.com/bftnode/bftnode/rpc"
)

// errPortTaken means a node could not listen because another process holds
// one of its ports: the caller picks new ports and starts again.
var errPortTaken = errors.New("port taken")

// Ports are chosen below the kernel's ephemeral range (32768+ on Linux), so
// that an outgoing connection of some other process cannot take the port of
// a node that is down between a kill and its restart, and away from the
// 26656+ ports of the default testnets.
const (
	portLow  = 20000
	portHigh = 26000
)

// nodeSettings are the config.toml keys set on every node: short
// timeouts so that a test makes many heights, and a round that has lost
// its proposer moves on in about a second; and the RPC's unsafe routes for
// the disconnect fault (the RPC listens on loopback only).
var nodeSettings = [][2]string{
	{"rpc.unsafe", "true"},
	{"consensus.timeout_propose", "800ms"},
	{"consensus.timeout_propose_delta", "200ms"},
	{"consensus.timeout_prevote", "300ms"},
	{"consensus.timeout_prevote_delta", "200ms"},
	{"consensus.timeout_precommit", "300ms"},
	{"consensus.timeout_precommit_delta", "200ms"},
	{"consensus.timeout_commit", "100ms"},
	{"instrumentation.prometheus", "false"},
	// The double-signing check reads every vote in the WALs: keep them all
	// (a node deletes WAL segments older than the previous one).
	{"consensus.wal_max_file_size", "1073741824"},
}

// proc is one node: its home directory and, while it runs, its process.
type proc struct {
	name      string
	home      string
	validator bool
	logPath   string
	p2pPort   int
	rpcPort   int
	peerID    string
	address   string // validator address (hex), from the RPC status
	byzantine string // test-only misbehaviour, or ""
	client    *rpc.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the running process has exited
	exitErr error
	starts  int
}

func (p *proc) p2pAddr() string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p.p2pPort, p.peerID)
}

// network is a testnet of real bftnode processes.
type network struct {
	t     *testing.T
	dir   string
	procs []*proc
	ports *testport.Picker // ports handed out in this network
}

// newNetwork generates a testnet of validators and fullNodes non-validators
// under a temporary directory, gives every node free ports, and starts
// them all; every process is killed when the test ends.
func newNetwork(t *testing.T, s scenario) *network {
	t.Helper()
	validators, fullNodes := s.Validators, s.FullNodes
	if binPath == "" {
		t.Fatal("e2e: the bftnode binary was not built (TestMain)")
	}
	n := &network{t: t, dir: t.TempDir(), ports: testport.New(portLow, portHigh)}
	t.Cleanup(n.cleanup)
	netDir := filepath.Join(n.dir, "net")
	n.bftnode("testnet", "--v", fmt.Sprint(validators), "--o", netDir, "--chain-id", "e2e-chain")
	for i := range validators {
		name := fmt.Sprintf("node%d", i)
		n.procs = append(n.procs, &proc{name: name, home: filepath.Join(netDir, name), validator: true})
	}
	for i := range fullNodes {
		name := fmt.Sprintf("full%d", i)
		home := filepath.Join(netDir, name)
		n.bftnode("init", "--home", home, "--chain-id", "e2e-chain", "--moniker", name)
		gen, err := os.ReadFile(filepath.Join(netDir, "node0", "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), gen, 0o600); err != nil {
			t.Fatal(err)
		}
		n.procs = append(n.procs, &proc{name: name, home: home})
	}
	for name, mode := range s.Byzantine {
		k, err := s.nodeIndex(name)
		if err != nil {
			t.Fatal(err)
		}
		n.procs[k].byzantine = mode
	}
	for _, p := range n.procs {
		p.logPath = filepath.Join(n.dir, p.name+".log")
		k, err := config.LoadNodeKey(filepath.Join(p.home, "config", "node_key.json"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := k.PeerID()
		if err != nil {
			t.Fatal(err)
		}
		p.peerID = id.String()
	}
	n.startAll()
	for _, p := range n.procs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		addr, err := validatorAddress(ctx, p.client)
		cancel()
		if err != nil {
			t.Fatalf("e2e: %s: %v", p.name, err)
		}
		p.address = addr
	}
	return n
}

// bftnode runs a bftnode command to completion.
func (n *network) bftnode(args ...string) {
	n.t.Helper()
	out, err := exec.Command(binPath, args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("bftnode %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// freePort picks an unused port in [portLow, portHigh) that can be listened on.
func (n *network) freePort() int {
	n.t.Helper()
	return n.ports.Free(n.t)
}

// configure gives every node fresh ports and rewrites its config.toml:
// addresses, every other node as a persistent peer, short timeouts.
func (n *network) configure() {
	n.t.Helper()
	for _, p := range n.procs {
		p.p2pPort, p.rpcPort = n.freePort(), n.freePort()
		c, err := rpc.NewClient(fmt.Sprintf("http://127.0.0.1:%d", p.rpcPort), nil)
		if err != nil {
			n.t.Fatal(err)
		}
		p.client = c
	}
	for _, p := range n.procs {
		cfg, err := config.Load(p.home, nil)
		if err != nil {
			n.t.Fatal(err)
		}
		var peers []string
		for _, q := range n.procs {
			if q != p {
				peers = append(peers, q.p2pAddr())
			}
		}
		cfg.P2P.ListenAddress = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p.p2pPort)
		cfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p.rpcPort)
		cfg.P2P.PersistentPeers = strings.Join(peers, ",")
		for _, kv := range nodeSettings {
			if err := cfg.Set(kv[0], kv[1]); err != nil {
				n.t.Fatal(err)
			}
		}
		if err := cfg.Validate(); err != nil {
			n.t.Fatal(err)
		}
		if err := cfg.WriteFile(); err != nil {
			n.t.Fatal(err)
		}
	}
}

// startAll starts every node and waits until each answers on its RPC,
// starting over on new ports if a port was taken meanwhile.
func (n *network) startAll() {
	n.t.Helper()
	for attempt := 1; ; attempt++ {
		n.configure()
		var err error
		for _, p := range n.procs {
			if err = n.start(p); err != nil {
				break
			}
		}
		if err == nil {
			for _, p := range n.procs {
				if err = n.waitReady(p, 60*time.Second); err != nil {
					break
				}
			}
		}
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			n.t.Fatalf("e2e: starting the network: %v", err)
		}
		n.t.Logf("e2e: %v; starting again on other ports", err)
		for _, p := range n.procs {
			n.signal(p, syscall.SIGKILL)
			n.wait(p, 10*time.Second)
		}
	}
}

// start starts p's process; its output is appended to p.logPath.
func (n *network) start(p *proc) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s: already running", p.name)
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(f, "===== e2e: start #%d of %s at %s =====\n", p.starts, p.name, time.Now().UTC().Format(time.RFC3339Nano))
	bin, args := binPath, []string{"start", "--home", p.home}
	if p.byzantine != "" {
		bin, args = byzBinPath, []string{"--home", p.home, "--mode", p.byzantine}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that a signal reaches all of it; and
	// killed with the test binary even if that dies before its cleanup
	// (a go test timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exitErr = cmd, done, nil
	go func() {
		err := cmd.Wait()
		_ = f.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// running reports whether p's process is alive (it may be paused).
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to p's process group, if it runs.
func (n *network) signal(p *proc, sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// wait waits for p's process to exit; false if it is still alive at the deadline.
func (n *network) wait(p *proc, d time.Duration) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// kill SIGKILLs p and waits for it to die.
func (n *network) kill(p *proc) {
	n.t.Helper()
	n.signal(p, syscall.SIGKILL)
	if !n.wait(p, 20*time.Second) {
		n.t.Fatalf("e2e: %s survived SIGKILL", p.name)
	}
}

// stop SIGTERMs p and waits for a clean exit (exit status 0).
func (n *network) stop(p *proc) error {
	n.signal(p, syscall.SIGTERM)
	if !n.wait(p, 30*time.Second) {
		n.kill(p)
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exitErr != nil {
		return fmt.Errorf("%s exited with %v after SIGTERM", p.name, p.exitErr)
	}
	return nil
}

// restart starts p again and waits until its RPC answers, retrying a few
// times if a port is taken.
func (n *network) restart(p *proc) {
	n.t.Helper()
	var err error
	for range 5 {
		if err = n.start(p); err != nil {
			break
		}
		if err = n.waitReady(p, 60*time.Second); !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		n.t.Fatalf("e2e: restarting %s: %v", p.name, err)
	}
}

// waitReady polls p's status until it answers, failing early if the
// process exits.
func (n *network) waitReady(p *proc, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		if !p.running() {
			if n.logMentions(p, "address already in use") {
				return fmt.Errorf("%s: %w", p.name, errPortTaken)
			}
			p.mu.Lock()
			err := p.exitErr
			p.mu.Unlock()
			return fmt.Errorf("%s exited while starting: %v", p.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, last = status(ctx, p.client)
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: RPC not answering after %v: %v", p.name, d, last)
}

// logMentions reports whether the current run's log of p contains s.
func (n *network) logMentions(p *proc, s string) bool {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return false
	}
	if i := bytes.LastIndex(data, []byte("===== e2e: start #")); i >= 0 {
		data = data[i:]
	}
	return bytes.Contains(data, []byte(s))
}

// cleanup kills every process and, if the test failed, prints the end of
// every node's log.
func (n *network) cleanup() {
	for _, p := range n.procs {
		n.signal(p, syscall.SIGCONT)
		n.signal(p, syscall.SIGKILL)
	}
	for _, p := range n.procs {
		if !n.wait(p, 20*time.Second) {
			n.t.Errorf("e2e: %s still running after SIGKILL", p.name)
		}
	}
	if dir := os.Getenv("BFTNODE_E2E_LOGDIR"); dir != "" {
		n.keepLogs(filepath.Join(dir, strings.ReplaceAll(n.t.Name(), "/", "_")))
	}
	if n.t.Failed() {
		for _, p := range n.procs {
			n.t.Logf("----- last 50 lines of %s (%s) -----\n%s", p.name, p.logPath, tail(p.logPath, 50))
		}
	}
}

// keepLogs copies every node's log to dir (BFTNODE_E2E_LOGDIR asks for it).
func (n *network) keepLogs(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.t.Logf("e2e: keeping logs: %v", err)
		return
	}
	for _, p := range n.procs {
		data, err := os.ReadFile(p.logPath)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, p.name+".log"), data, 0o644)
		}
		if err != nil {
			n.t.Logf("e2e: keeping the log of %s: %v", p.name, err)
		}
	}
	n.t.Logf("e2e: node logs kept in %s", dir)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// validators counts the validator nodes.
func (n *network) validators() []*proc {
	var out []*proc
	for _, p := range n.procs {
		if p.validator {
			out = append(out, p)
		}
	}
	return out
}
