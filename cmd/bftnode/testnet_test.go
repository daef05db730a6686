package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bftnode/bftnode/config"
)

func TestTestnetGeneratesWiredHomes(t *testing.T) {
	const n = 4
	dir := filepath.Join(t.TempDir(), "net")
	mustRun(t, "testnet", "--v", fmt.Sprint(n), "--o", dir, "--chain-id", "tn-1")

	var genesis []byte
	ports := map[string]string{}
	p2pAddrs := make([]string, n)
	cfgs := make([]config.Config, n)
	for i := range n {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		cfg, err := config.Load(home, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		cfgs[i] = cfg
		g, err := os.ReadFile(cfg.GenesisFile())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			genesis = g
		} else if !bytes.Equal(g, genesis) {
			t.Fatalf("node%d has another genesis", i)
		}
		for _, addr := range []string{cfg.P2P.ListenAddress, cfg.RPC.ListenAddress, cfg.Instrumentation.PrometheusListenAddr} {
			port := addr[strings.LastIndexAny(addr, ":/")+1:]
			if prev, dup := ports[port]; dup {
				t.Fatalf("port %s used by %s and %s", port, prev, addr)
			}
			ports[port] = addr
			if !strings.Contains(addr, "127.0.0.1") {
				t.Errorf("node%d listens on %s, not loopback", i, addr)
			}
		}
		id := strings.TrimSpace(mustRun(t, "show-node-id", "--libp2p", "--home", home).stdout)
		p2pAddrs[i] = cfg.P2P.ListenAddress + "/p2p/" + id
	}
	if cfgs[0].RPC.ListenAddress != "tcp://127.0.0.1:26657" {
		t.Errorf("node0 RPC on %s, want tcp://127.0.0.1:26657", cfgs[0].RPC.ListenAddress)
	}
	g, err := config.LoadGenesis(cfgs[0].GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	if g.ChainID != "tn-1" || len(g.Validators) != n {
		t.Fatalf("genesis chain %q with %d validators", g.ChainID, len(g.Validators))
	}
	for i, cfg := range cfgs {
		// Every node is a genesis validator and names every other node as a peer.
		r := mustRun(t, "config", "validate", "--home", cfg.RootDir)
		if !strings.Contains(r.stdout, fmt.Sprintf("genesis validator \"node%d\"", i)) {
			t.Errorf("node%d: %s", i, r.stdout)
		}
		peers := config.SplitList(cfg.P2P.PersistentPeers)
		var want []string
		for j, a := range p2pAddrs {
			if j != i {
				want = append(want, a)
			}
		}
		slices.Sort(peers)
		slices.Sort(want)
		if !slices.Equal(peers, want) {
			t.Errorf("node%d peers\n %v\nwant\n %v", i, peers, want)
		}
	}

	// A second run into the same directory is refused.
	if r := runCLI(t, nil, "testnet", "--v", "2", "--o", dir); r.code == 0 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("testnet over an existing dir: exit %d, %s", r.code, r.stderr)
	}
	// With --reuse it is kept as it is: same genesis, same keys.
	if r := mustRun(t, "testnet", "--v", "2", "--o", dir, "--reuse"); !strings.Contains(r.stdout, "Reusing") {
		t.Errorf("testnet --reuse: %s", r.stdout)
	}
	if g, err := os.ReadFile(cfgs[0].GenesisFile()); err != nil || !bytes.Equal(g, genesis) {
		t.Errorf("testnet --reuse changed node0's genesis (err %v)", err)
	}
	// --reuse over a directory that holds something else is still refused.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "testnet", "--o", other, "--reuse"); r.code == 0 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("testnet --reuse over a non-testnet dir: exit %d, %s", r.code, r.stderr)
	}
}

func TestTestnetHostnamePrefix(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	mustRun(t, "testnet", "--v", "3", "--o", dir, "--hostname-prefix", "node")
	for i := range 3 {
		cfg, err := config.Load(filepath.Join(dir, fmt.Sprintf("node%d", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cfg.P2P.ListenAddress, "/ip4/0.0.0.0/") || !strings.HasPrefix(cfg.RPC.ListenAddress, "tcp://0.0.0.0:") {
			t.Errorf("node%d listens on p2p %s rpc %s, want all interfaces", i, cfg.P2P.ListenAddress, cfg.RPC.ListenAddress)
		}
		peers, err := config.ParsePeers(cfg.P2P.PersistentPeers)
		if err != nil || len(peers) != 2 {
			t.Fatalf("node%d peers %q: %v", i, cfg.P2P.PersistentPeers, err)
		}
		for _, p := range config.SplitList(cfg.P2P.PersistentPeers) {
			if !strings.HasPrefix(p, "/dns/node") || strings.HasPrefix(p, fmt.Sprintf("/dns/node%d/", i)) {
				t.Errorf("node%d names peer %s, want /dns/nodeJ/… of another node", i, p)
			}
		}
	}
}

func TestTestnetStartingPort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net")
	mustRun(t, "testnet", "--v", "2", "--o", dir, "--starting-port", "40000")
	cfg, err := config.Load(filepath.Join(dir, "node1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.P2P.ListenAddress != "/ip4/127.0.0.1/tcp/40010" || cfg.RPC.ListenAddress != "tcp://127.0.0.1:40011" {
		t.Fatalf("node1 p2p %s rpc %s", cfg.P2P.ListenAddress, cfg.RPC.ListenAddress)
	}
	for _, args := range [][]string{
		{"--v", "0"},
		{"--v", "4", "--starting-port", "65530"},
	} {
		r := runCLI(t, nil, append([]string{"testnet", "--o", filepath.Join(t.TempDir(), "x")}, args...)...)
		if r.code == 0 {
			t.Errorf("testnet %v accepted", args)
		}
	}
}
