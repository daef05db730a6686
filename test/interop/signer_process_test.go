package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/privval"
)

// signerEnv, set in the environment of this package's test binary, makes it
// run as a remote signer process (runSignerProcess) instead of the tests:
// the tests start it so that they can kill -9 it like a node.
const signerEnv = "BFTNODE_INTEROP_SIGNER"

// signerSpec is what a signer process is told, as JSON in signerEnv.
type signerSpec struct {
	Addr      string `json:"addr"` // the node's priv_validator_laddr: tcp://host:port or unix:///path
	ChainID   string `json:"chain_id"`
	KeyFile   string `json:"key_file"`
	StateFile string `json:"state_file"`
}

// runSignerProcess runs CometBFT's SignerServer with its FilePV, dialing
// the node (a unix socket, or TCP with CometBFT's SecretConnection), until
// SIGTERM or SIGKILL; it returns the exit code.
func runSignerProcess(specJSON string) int {
	var spec signerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "signer:", err)
		return 2
	}
	logger := log.NewTMLogger(log.NewSyncWriter(os.Stdout))
	pv := privval.LoadFilePV(spec.KeyFile, spec.StateFile)
	connect := privval.DialUnixFn(strings.TrimPrefix(spec.Addr, "unix://"))
	if addr, ok := strings.CutPrefix(spec.Addr, "tcp://"); ok {
		// A SecretConnection with a key of the signer's own, as tmkms has.
		connect = privval.DialTCPFn(addr, 5*time.Second, ed25519.GenPrivKey())
	}
	dial := func() (net.Conn, error) {
		c, err := connect()
		if err != nil {
			return nil, err
		}
		return redialOnEOF{c}, nil
	}
	ep := privval.NewSignerDialerEndpoint(logger, dial,
		privval.SignerDialerEndpointConnRetries(math.MaxInt32),
		privval.SignerDialerEndpointRetryWaitInterval(20*time.Millisecond))
	ss := privval.NewSignerServer(ep, spec.ChainID, pv)
	if err := ss.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "signer:", err)
		return 1
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	_ = ss.Stop()
	return 0
}

// redialOnEOF reports the end of the connection (the node closed it, or
// was killed) as a timeout. CometBFT's SignerDialerEndpoint drops and
// redials a connection only after a timeout: on a plain io.EOF its
// SignerServer keeps reading the closed connection and never dials again.
// tmkms and horcrux redial on EOF; this gives CometBFT's server the same
// behaviour, which a signer must have to survive a node restart.
type redialOnEOF struct{ net.Conn }

func (c redialOnEOF) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if errors.Is(err, io.EOF) {
		err = connClosedError{}
	}
	return n, err
}

type connClosedError struct{}

func (connClosedError) Error() string { return "the node closed the connection" }
func (connClosedError) Timeout() bool { return true }

// signerProc is a signer process started by a test.
type signerProc struct {
	t       *testing.T
	spec    signerSpec
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// newSignerProc moves the validator key file keyFile (bftnode's, which
// CometBFT reads as its own) into dir, where CometBFT writes its FilePV
// files, and returns a signer for the node at addr with that FilePV; start
// starts it.
func newSignerProc(t *testing.T, dir, addr, chainID, keyFile string) *signerProc {
	t.Helper()
	sp := &signerProc{t: t, logPath: filepath.Join(dir, "signer.log"), spec: signerSpec{
		Addr: addr, ChainID: chainID,
		KeyFile: filepath.Join(dir, "priv_validator_key.json"), StateFile: filepath.Join(dir, "priv_validator_state.json"),
	}}
	if err := os.Rename(keyFile, sp.spec.KeyFile); err != nil {
		t.Fatal(err)
	}
	// CometBFT loads the key and writes its own key and (fresh) state files.
	privval.LoadFilePVEmptyState(sp.spec.KeyFile, sp.spec.StateFile).Save()
	t.Cleanup(func() {
		sp.kill()
		if t.Failed() {
			t.Logf("----- last lines of the signer's log (%s) -----\n%s", sp.logPath, tail(sp.logPath, 20))
		}
	})
	return sp
}

// start starts the signer process; it dials the node until it gets in.
func (sp *signerProc) start() {
	sp.t.Helper()
	spec, err := json.Marshal(sp.spec)
	if err != nil {
		sp.t.Fatal(err)
	}
	f, err := os.OpenFile(sp.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		sp.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), signerEnv+"="+string(spec))
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		sp.t.Fatalf("start the signer: %v", err)
	}
	done := make(chan struct{})
	sp.mu.Lock()
	sp.cmd, sp.done = cmd, done
	sp.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(done)
	}()
}

// kill sends SIGKILL to the signer process, if running, and waits for it.
func (sp *signerProc) kill() {
	sp.mu.Lock()
	cmd, done := sp.cmd, sp.done
	sp.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}
