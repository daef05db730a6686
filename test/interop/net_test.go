package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fastFlags are the `bftnode start` flags every test network runs with:
// short timeouts, so that a test makes many heights in little time.
var fastFlags = []string{
	"--consensus.timeout_propose=800ms",
	"--consensus.timeout_propose_delta=200ms",
	"--consensus.timeout_prevote=300ms",
	"--consensus.timeout_prevote_delta=200ms",
	"--consensus.timeout_precommit=300ms",
	"--consensus.timeout_precommit_delta=200ms",
	"--consensus.timeout_commit=100ms",
	"--instrumentation.prometheus=false",
}

// netOptions shape a test network.
type netOptions struct {
	// ProxyApp, when set, gives node i's proxy_app (an external ABCI app
	// such as "tcp://127.0.0.1:PORT"); otherwise nodes run the built-in
	// kvstore.
	ProxyApp func(i int) string
	// Flags are extra `bftnode start` flags for every node.
	Flags []string
	// Setup, when set, runs after the home directories are written and
	// before any node starts (to edit a genesis or a config, say).
	Setup func(nw *network)
	// Byzantine gives, by node index, a misbehaviour (equivocate,
	// doublevote...) that node runs with the test-only bftnode-byzantine
	// binary (see byzantineBin), its flags given as BFTNODE_* variables.
	Byzantine map[int]string
}

// bnode is one bftnode process of a test network.
type bnode struct {
	name    string
	home    string
	logPath string
	p2pPort int
	rpcPort int
	peerID  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// RPC is the node's JSON-RPC address.
func (n *bnode) RPC() string { return fmt.Sprintf("http://127.0.0.1:%d", n.rpcPort) }

// network is a testnet of real bftnode processes on loopback.
type network struct {
	t       *testing.T
	dir     string
	chainID string
	nodes   []*bnode
	opts    netOptions
}

// newNetwork writes an n-validator testnet with `bftnode testnet` and starts
// every node; they are killed at the end of the test, and their logs'
// tails printed if it failed.
func newNetwork(t *testing.T, n int, opts netOptions) *network {
	t.Helper()
	nw := &network{t: t, dir: t.TempDir(), chainID: "interop-" + strconv.Itoa(os.Getpid()), opts: opts}
	runBftnode(t, "testnet", "--v", strconv.Itoa(n), "--o", filepath.Join(nw.dir, "net"), "--chain-id", nw.chainID)
	for i := range n {
		home := filepath.Join(nw.dir, "net", fmt.Sprintf("node%d", i))
		nd := &bnode{
			name:    fmt.Sprintf("node%d", i),
			home:    home,
			logPath: filepath.Join(nw.dir, fmt.Sprintf("node%d.log", i)),
			p2pPort: freePort(t),
			rpcPort: freePort(t),
			peerID:  strings.TrimSpace(runBftnode(t, "show-node-id", "--libp2p", "--home", home)),
		}
		nw.nodes = append(nw.nodes, nd)
	}
	t.Cleanup(nw.cleanup)
	if opts.Setup != nil {
		opts.Setup(nw)
	}
	for i := range nw.nodes {
		nw.start(i)
	}
	for _, nd := range nw.nodes {
		nw.waitReady(nd, time.Minute)
	}
	return nw
}

// runBftnode runs the bftnode binary and returns its standard output.
func runBftnode(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(bftnodeBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bftnode %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// Ports for nodes are drawn from [portLow, portHigh), below the kernel's
// ephemeral range (32768 and up on Linux): a port that listening on port 0
// returned can be handed out again at once, or taken by an outgoing
// connection, before the node that was given it listens. The unit tests'
// ranges (internal/testport) do not overlap this one.
const portLow, portHigh = 12000, 20000

var ports = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

// freePort returns a loopback TCP port that nothing listened on a moment
// ago and that no other node of this test binary was given.
func freePort(t *testing.T) int {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 1000 {
		port := portLow + rand.IntN(portHigh-portLow)
		if ports.used[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		_ = l.Close()
		ports.used[port] = true
		return port
	}
	t.Fatalf("no free port in [%d, %d)", portLow, portHigh)
	return 0
}

// start starts node i's process; its output goes to its log file.
func (nw *network) start(i int) {
	t := nw.t
	t.Helper()
	nd := nw.nodes[i]
	var peers []string
	for _, q := range nw.nodes {
		if q != nd {
			peers = append(peers, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", q.p2pPort, q.peerID))
		}
	}
	args := []string{"start", "--home", nd.home,
		fmt.Sprintf("--p2p.laddr=/ip4/127.0.0.1/tcp/%d", nd.p2pPort),
		fmt.Sprintf("--rpc.laddr=tcp://127.0.0.1:%d", nd.rpcPort),
		"--p2p.persistent_peers=" + strings.Join(peers, ","),
	}
	args = append(args, fastFlags...)
	if nw.opts.ProxyApp != nil {
		args = append(args, "--proxy_app="+nw.opts.ProxyApp(i))
	}
	args = append(args, nw.opts.Flags...)
	f, err := os.OpenFile(nd.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bftnodeBin, args...)
	if mode := nw.opts.Byzantine[i]; mode != "" {
		cmd = byzantineCmd(t, nd.home, mode, args)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("%s: start: %v", nd.name, err)
	}
	done := make(chan struct{})
	nd.mu.Lock()
	nd.cmd, nd.done, nd.err = cmd, done, nil
	nd.mu.Unlock()
	go func() {
		err := cmd.Wait()
		_ = f.Close()
		nd.mu.Lock()
		nd.err = err
		nd.mu.Unlock()
		close(done)
	}()
}

// exited reports whether node i's process has ended, and how.
func (nw *network) exited(i int) (bool, error) {
	nd := nw.nodes[i]
	nd.mu.Lock()
	done := nd.done
	nd.mu.Unlock()
	if done == nil {
		return false, nil
	}
	select {
	case <-done:
		nd.mu.Lock()
		defer nd.mu.Unlock()
		return true, nd.err
	default:
		return false, nil
	}
}

// waitExit waits up to d for node i's process to end and returns its exit
// error; it fails the test if the process is still running then.
func (nw *network) waitExit(i int, d time.Duration) error {
	nw.t.Helper()
	nd := nw.nodes[i]
	select {
	case <-nd.done:
		nd.mu.Lock()
		defer nd.mu.Unlock()
		return nd.err
	case <-time.After(d):
		nw.t.Fatalf("%s still running after %v", nd.name, d)
		return nil
	}
}

// stop sends SIGTERM to node i and waits for it to exit.
func (nw *network) stop(i int) error {
	nw.t.Helper()
	nd := nw.nodes[i]
	if ok, err := nw.exited(i); ok {
		return err
	}
	_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGTERM)
	return nw.waitExit(i, time.Minute)
}

// kill sends SIGKILL to node i, if running, and waits for it to end.
func (nw *network) kill(i int) {
	nd := nw.nodes[i]
	if nd.cmd != nil {
		if ok, _ := nw.exited(i); !ok {
			_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
			<-nd.done
		}
	}
}

func (nw *network) cleanup() {
	for i, nd := range nw.nodes {
		nw.kill(i)
		if nw.t.Failed() {
			nw.t.Logf("----- last lines of %s's log (%s) -----\n%s", nd.name, nd.logPath, tail(nd.logPath, 40))
		}
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitReady waits until nd answers /status, failing if its process exits.
func (nw *network) waitReady(nd *bnode, d time.Duration) {
	nw.t.Helper()
	i := nw.index(nd)
	poll(nw.t, nd.name+" to answer /status", d, func() (bool, error) {
		if ok, err := nw.exited(i); ok {
			return false, fmt.Errorf("%s exited: %v", nd.name, err)
		}
		_, err := nw.height(i)
		return err == nil, nil
	})
}

func (nw *network) index(nd *bnode) int {
	for i, q := range nw.nodes {
		if q == nd {
			return i
		}
	}
	panic("not a node of this network")
}

// height is node i's latest block height, read from /status with plain
// HTTP and JSON (so the harness does not depend on the client under test).
func (nw *network) height(i int) (int64, error) {
	var st struct {
		SyncInfo struct {
			LatestBlockHeight string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := rawCall(nw.nodes[i].RPC(), "status", &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
}

// waitHeight waits until every running node has committed height h.
func (nw *network) waitHeight(h int64, d time.Duration) {
	nw.t.Helper()
	poll(nw.t, fmt.Sprintf("every node to reach height %d", h), d, func() (bool, error) {
		for i := range nw.nodes {
			if ok, err := nw.exited(i); ok {
				return false, fmt.Errorf("%s exited: %v", nw.nodes[i].name, err)
			}
			got, err := nw.height(i)
			if err != nil || got < h {
				return false, nil
			}
		}
		return true, nil
	})
}

// rawCall makes a JSON-RPC GET call (no parameters) and decodes its result.
func rawCall(base, method string, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+method, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if env.Error != nil {
		return fmt.Errorf("%s: %d %s %s", method, env.Error.Code, env.Error.Message, env.Error.Data)
	}
	if len(env.Result) == 0 {
		return errors.New(method + ": no result")
	}
	return json.Unmarshal(env.Result, result)
}

// poll calls cond until it reports true, fails with its error, or d
// passes; it checks every 100 ms.
func poll(t *testing.T, what string, d time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
