package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cometbftVersion is the release the counterpart binary must be (the same
// as go.mod's library version).
const cometbftVersion = "0.40.0"

// cometbftBin finds the CometBFT binary: $COMETBFT_BIN (which `make
// interop` sets after installing it into .bin), else cometbft on the PATH;
// it must be v0.40.0.
func cometbftBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("COMETBFT_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("cometbft"); err != nil {
			t.Fatalf("no CometBFT binary: run the suite with `make interop` (it installs .bin/cometbft and sets COMETBFT_BIN), "+
				"or install it with `GOBIN=$PWD/.bin go install github.com/cometbft/cometbft/cmd/cometbft@v%s` and set COMETBFT_BIN", cometbftVersion)
		}
	}
	// `cometbft version` says 0.39.0 in v0.40.0 (a constant left behind):
	// the module version the binary was built from is the true one.
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil || !strings.Contains(string(out), "\tmod\tgithub.com/cometbft/cometbft\tv"+cometbftVersion+"\t") {
		t.Fatalf("go version -m %s: %v\n%s\nwant a cometbft built from github.com/cometbft/cometbft v%s (COMETBFT_BIN names the binary)", bin, err, out, cometbftVersion)
	}
	return bin
}

// cnode is one cometbft process of a CometBFT localnet.
type cnode struct {
	home    string
	logPath string
	rpcPort int
	cmd     *exec.Cmd
	done    chan struct{}
}

// RPC is the node's JSON-RPC address.
func (n *cnode) RPC() string { return fmt.Sprintf("http://127.0.0.1:%d", n.rpcPort) }

// cometNet is a CometBFT localnet of n validators with its kvstore app, on
// loopback ports, written by `cometbft testnet`.
type cometNet struct {
	chainID string
	nodes   []*cnode
}

func newCometNet(t *testing.T, bin string, n int) *cometNet {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(bin, "testnet", "--v", fmt.Sprint(n), "--o", dir, "--populate-persistent-peers=false").CombinedOutput(); err != nil {
		t.Fatalf("cometbft testnet: %v\n%s", err, out)
	}
	var gen struct {
		ChainID string `json:"chain_id"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "node0", "config", "genesis.json"))
	if err == nil {
		err = json.Unmarshal(raw, &gen)
	}
	if err != nil {
		t.Fatalf("cometbft testnet genesis: %v", err)
	}
	cn := &cometNet{chainID: gen.ChainID}
	var peers, p2pAddrs []string
	for i := range n {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		id, err := exec.Command(bin, "show-node-id", "--home", home).Output()
		if err != nil {
			t.Fatalf("cometbft show-node-id: %v", err)
		}
		p2p := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		peers, p2pAddrs = append(peers, strings.TrimSpace(string(id))+"@"+p2p), append(p2pAddrs, p2p)
		cfgPath := filepath.Join(home, "config", "config.toml")
		cfg, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer(
			"allow_duplicate_ip = false", "allow_duplicate_ip = true",
			"addr_book_strict = true", "addr_book_strict = false",
			`timeout_commit = "1s"`, `timeout_commit = "200ms"`,
		).Replace(string(cfg))
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		cn.nodes = append(cn.nodes, &cnode{home: home, logPath: filepath.Join(dir, fmt.Sprintf("node%d.log", i)), rpcPort: freePort(t)})
	}
	t.Cleanup(func() { cn.cleanup(t) })
	for i, nd := range cn.nodes {
		var others []string
		for j, p := range peers {
			if j != i {
				others = append(others, p)
			}
		}
		f, err := os.Create(nd.logPath)
		if err != nil {
			t.Fatal(err)
		}
		nd.cmd = exec.Command(bin, "start", "--home", nd.home, "--proxy_app=kvstore",
			"--p2p.laddr=tcp://"+p2pAddrs[i], fmt.Sprintf("--rpc.laddr=tcp://127.0.0.1:%d", nd.rpcPort),
			"--p2p.persistent_peers="+strings.Join(others, ","))
		nd.cmd.Stdout, nd.cmd.Stderr = f, f
		nd.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := nd.cmd.Start(); err != nil {
			t.Fatalf("cometbft start: %v", err)
		}
		nd.done = make(chan struct{})
		go func(nd *cnode, f *os.File) {
			_ = nd.cmd.Wait()
			_ = f.Close()
			close(nd.done)
		}(nd, f)
	}
	return cn
}

func (cn *cometNet) cleanup(t *testing.T) {
	for i, nd := range cn.nodes {
		if nd.cmd == nil {
			continue
		}
		_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
		<-nd.done
		if t.Failed() {
			t.Logf("----- last lines of cometbft node%d's log (%s) -----\n%s", i, nd.logPath, tail(nd.logPath, 30))
		}
	}
}

// waitHeight waits until every node has committed height h.
func (cn *cometNet) waitHeight(t *testing.T, h int64, d time.Duration) {
	t.Helper()
	poll(t, fmt.Sprintf("every CometBFT node to reach height %d", h), d, func() (bool, error) {
		for i, nd := range cn.nodes {
			select {
			case <-nd.done:
				return false, fmt.Errorf("cometbft node%d exited:\n%s", i, tail(nd.logPath, 30))
			default:
			}
			var st struct {
				SyncInfo struct {
					LatestBlockHeight int64 `json:"latest_block_height,string"`
				} `json:"sync_info"`
			}
			if err := rawCall(nd.RPC(), "status", &st); err != nil || st.SyncInfo.LatestBlockHeight < h {
				return false, nil
			}
		}
		return true, nil
	})
}
