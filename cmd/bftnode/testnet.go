package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/config"
)

// Each testnet node takes portsPerNode consecutive ports from its base: p2p
// at base, RPC at base+1, Prometheus at base+4 (26656, 26657, 26660 for
// node0 with the default starting port, as in CometBFT).
const portsPerNode = 10

type testnetOpts struct {
	validators   int
	outDir       string
	startingPort int
	chainID      string
	// hostnamePrefix, when set, makes node i reachable as PREFIXi (a
	// container or DNS name) instead of on loopback.
	hostnamePrefix string
	// reuse leaves an existing testnet in outDir as it is.
	reuse bool
}

func (c *cli) testnetCmd() *cobra.Command {
	o := testnetOpts{}
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Generate the home directories of a local N-validator network",
		Long: `testnet writes DIR/node0 … DIR/node{N-1}, each a complete home directory with
its own keys, all sharing one genesis with the N validators (power 10 each).
Every node listens on loopback: node i uses p2p port P+10i, RPC port P+10i+1
and Prometheus port P+10i+4, where P is --starting-port (so node0's RPC is on
26657 by default), and names every other node in p2p.persistent_peers as
/ip4/127.0.0.1/tcp/PORT/p2p/PEERID. It refuses a non-empty DIR, unless
--reuse is given and DIR already holds a testnet (node0's genesis), which is
then left as it is.

With --hostname-prefix PREFIX the nodes are meant to run on separate hosts or
containers named PREFIX0 … PREFIX{N-1} (as in docker-compose.yml): each
listens on all interfaces (0.0.0.0) and names its peers
/dns/PREFIXj/tcp/PORT/p2p/PEERID.`,
		Example: `  bftnode testnet --v 4 --o ./localnet/build
  bftnode testnet --v 7 --o /tmp/net --starting-port 36656 --chain-id bench
  bftnode testnet --v 4 --o /net --hostname-prefix node --reuse`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return c.testnet(o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.validators, "v", 4, "number of validators")
	f.StringVar(&o.outDir, "o", "./mytestnet", "output directory")
	f.IntVar(&o.startingPort, "starting-port", 26656, "p2p port of node0; node i uses ports from P+10i")
	f.StringVar(&o.chainID, "chain-id", "", "chain ID (default test-chain-<random>)")
	f.StringVar(&o.hostnamePrefix, "hostname-prefix", "", "node i is reached as host PREFIXi and listens on 0.0.0.0 (default: all on 127.0.0.1)")
	f.BoolVar(&o.reuse, "reuse", false, "if --o already holds a testnet, keep it and do nothing")
	return cmd
}

func (c *cli) testnet(o testnetOpts) error {
	switch last := o.startingPort + portsPerNode*(o.validators-1) + portsPerNode - 1; {
	case o.validators < 1:
		return fmt.Errorf("--v %d: need at least one validator", o.validators)
	case o.startingPort < 1 || last > 65535:
		return fmt.Errorf("--starting-port %d with --v %d needs ports up to %d; choose a port so that all fit below 65536", o.startingPort, o.validators, last)
	case o.outDir == "":
		return errors.New("--o: give an output directory")
	}
	if o.reuse {
		node0 := config.Default(filepath.Join(o.outDir, "node0"))
		if _, err := os.Stat(node0.GenesisFile()); err == nil {
			_, err := fmt.Fprintf(c.stdout, "Reusing the testnet in %s (remove it for a fresh one)\n", o.outDir)
			return err
		}
	}
	if entries, err := os.ReadDir(o.outDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty; remove it, choose another --o, or pass --reuse to keep a testnet there", o.outDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("testnet: %w", err)
	}
	if o.chainID == "" {
		o.chainID = randomChainID()
	}
	g := &config.GenesisDoc{ChainID: o.chainID, GenesisTime: time.Now().UTC().Truncate(time.Millisecond)}
	cfgs := make([]config.Config, o.validators)
	addrs := make([]string, o.validators)
	for i := range o.validators {
		base := o.startingPort + portsPerNode*i
		cfg := config.Default(filepath.Join(o.outDir, fmt.Sprintf("node%d", i)))
		cfg.Moniker = fmt.Sprintf("node%d", i)
		listenHost, peerAddr := "127.0.0.1", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", base)
		if o.hostnamePrefix != "" {
			listenHost, peerAddr = "0.0.0.0", fmt.Sprintf("/dns/%s%d/tcp/%d", o.hostnamePrefix, i, base)
		}
		cfg.P2P.ListenAddress = fmt.Sprintf("/ip4/%s/tcp/%d", listenHost, base)
		cfg.RPC.ListenAddress = fmt.Sprintf("tcp://%s:%d", listenHost, base+1)
		cfg.Instrumentation.PrometheusListenAddr = fmt.Sprintf("%s:%d", listenHost, base+4)
		h, err := config.InitHome(cfg)
		if err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
		id, err := h.NodeKey.PeerID()
		if err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
		addrs[i] = fmt.Sprintf("%s/p2p/%s", peerAddr, id)
		g.Validators = append(g.Validators, config.NewGenesisValidator(h.Validator.PubKey(), defaultPower, cfg.Moniker))
		cfgs[i] = cfg
	}
	for i := range cfgs {
		var peers []string
		for j, a := range addrs {
			if j != i {
				peers = append(peers, a)
			}
		}
		cfgs[i].P2P.PersistentPeers = strings.Join(peers, ",")
		if err := cfgs[i].Validate(); err != nil {
			return fmt.Errorf("node%d: %w", i, err)
		}
		if err := cfgs[i].WriteFile(); err != nil {
			return err
		}
		if err := g.Save(cfgs[i].GenesisFile()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(c.stdout, "Wrote a %d-validator testnet (chain %s) to %s:\n", o.validators, o.chainID, o.outDir)
	if err != nil {
		return err
	}
	for i, cfg := range cfgs {
		if _, err := fmt.Fprintf(c.stdout, "  node%d  rpc %s  p2p %s\n", i, cfg.RPC.ListenAddress, addrs[i]); err != nil {
			return err
		}
	}
	return nil
}
