package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bftnode/bftnode/bench"
	"github.com/bftnode/bftnode/config"
)

const (
	cometName = "cometbft"
	bftName   = "bftnode"
	// Node i of a network listens for p2p on base+10i and for RPC on
	// base+10i+1, in both systems (`bftnode testnet`'s layout).
	portsPerNode = 10
)

// system is a node software under comparison.
type system struct {
	name string
	bin  string
	// nodes writes a fresh n-validator network under dir, with the
	// built-in kvstore and zero commit delay, and says how to start it.
	nodes func(ctx context.Context, bin, dir string, n, base int) ([]bench.NodeProc, error)
	// mempoolSize is the nodes' default mempool.size (txs): the bench's
	// pending cap stays below it, so that a full pool does not limit a
	// flat-out run.
	mempoolSize int64
}

func bftnodeSystem(bin string) *system {
	return &system{name: bftName, bin: bin, nodes: bftnodeNodes, mempoolSize: int64(config.Default("").Mempool.Size)}
}

// cometSystem is CometBFT; its default [mempool] size is 5000 txs.
func cometSystem(bin string) *system {
	return &system{name: cometName, bin: bin, nodes: cometNodes, mempoolSize: 5000}
}

func rpcEndpoint(base, i int) string {
	return fmt.Sprintf("http://127.0.0.1:%d", base+portsPerNode*i+1)
}

func bftnodeNodes(ctx context.Context, bin, dir string, n, base int) ([]bench.NodeProc, error) {
	netDir := filepath.Join(dir, "net")
	if out, err := exec.CommandContext(ctx, bin, "testnet", "--v", strconv.Itoa(n), "--o", netDir,
		"--starting-port", strconv.Itoa(base)).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bftnode testnet: %v: %s", err, out)
	}
	env := []string{config.EnvName("consensus.timeout_commit") + "=0s"}
	procs := make([]bench.NodeProc, n)
	for i := range procs {
		home := filepath.Join(netDir, fmt.Sprintf("node%d", i))
		procs[i] = bench.NodeProc{
			Name: fmt.Sprintf("node%d", i), Home: home, Endpoint: rpcEndpoint(base, i),
			Args: []string{bin, "start", "--home", home}, Env: env,
		}
	}
	return procs, nil
}

// cometNodes writes the network with `cometbft testnet`, sets
// timeout_commit to 0s, lets the nodes share one IP address (loopback) and
// starts each with the built-in kvstore and the others as persistent peers.
func cometNodes(ctx context.Context, bin, dir string, n, base int) ([]bench.NodeProc, error) {
	netDir := filepath.Join(dir, "net")
	if out, err := exec.CommandContext(ctx, bin, "testnet", "--v", strconv.Itoa(n), "--o", netDir,
		"--populate-persistent-peers=false").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cometbft testnet: %v: %s", err, out)
	}
	homes, peers := make([]string, n), make([]string, n)
	for i := range n {
		homes[i] = filepath.Join(netDir, fmt.Sprintf("node%d", i))
		id, err := exec.CommandContext(ctx, bin, "show-node-id", "--home", homes[i]).Output()
		if err != nil {
			return nil, fmt.Errorf("cometbft show-node-id: %w", err)
		}
		peers[i] = fmt.Sprintf("%s@127.0.0.1:%d", strings.TrimSpace(string(id)), base+portsPerNode*i)
		if err := editCometConfig(filepath.Join(homes[i], "config", "config.toml")); err != nil {
			return nil, err
		}
	}
	procs := make([]bench.NodeProc, n)
	for i := range procs {
		others := append(append([]string{}, peers[:i]...), peers[i+1:]...)
		procs[i] = bench.NodeProc{
			Name: fmt.Sprintf("node%d", i), Home: homes[i], Endpoint: rpcEndpoint(base, i),
			Args: []string{bin, "start", "--home", homes[i], "--proxy_app=kvstore",
				fmt.Sprintf("--p2p.laddr=tcp://127.0.0.1:%d", base+portsPerNode*i),
				fmt.Sprintf("--rpc.laddr=tcp://127.0.0.1:%d", base+portsPerNode*i+1),
				"--p2p.persistent_peers=" + strings.Join(others, ",")},
		}
	}
	return procs, nil
}

// editCometConfig changes CometBFT's default config.toml to zero commit
// delay and makes sure that several nodes may share one IP address
// (`cometbft testnet` allows it already).
func editCometConfig(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	for _, e := range [][2]string{
		{`timeout_commit = "1s"`, `timeout_commit = "0s"`},
		{"allow_duplicate_ip = false", "allow_duplicate_ip = true"},
		{"addr_book_strict = true", "addr_book_strict = false"},
	} {
		s = strings.Replace(s, e[0], e[1], 1)
		if strings.Count(s, e[1]) != 1 {
			return fmt.Errorf("%s: want one %q after editing (is the CometBFT binary v0.40.0?)", path, e[1])
		}
	}
	return os.WriteFile(path, []byte(s), 0o600)
}
