package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bftnode/bftnode/light"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

type lightOpts struct {
	primary, witnesses string
	height             int64
	hash               string
	dir                string
	laddr              string
	trustLevel         string
	trustingPeriod     time.Duration
	maxClockDrift      time.Duration
	sequential         bool
	maxOpenConnections int
}

func (c *cli) lightCmd() *cobra.Command {
	var o lightOpts
	cmd := &cobra.Command{
		Use:   "light CHAIN_ID",
		Short: "Run a verifying light client and serve the verified RPC subset",
		Long: `light follows a chain (bftnode's or CometBFT's) by verifying signed headers
from a primary node, starting from one header you trust: give its height and
hash (--height, --hash), obtained from a source you trust. Headers are
verified by skipping (bisection) with a trust level (--trust-level, default
1/3 of the trusted validators' power), or one by one with --sequential. A
trusted header vouches for its validators for the trusting period
(--trusting-period, shorter than the chain's unbonding period).

Every verified header is compared with the witnesses' (--witnesses). If a
witness proves a different header at the same height, the light client stops
and reports both (height, hashes, which node); both light blocks are kept as
JSON under <dir>/data/evidence. As CometBFT's light client does, it also
sends light client attack evidence against each side to the other
(broadcast_evidence), so both chains can punish the validators that signed
the other's block. A witness whose different header does not verify is
faulty and dropped.

Verified headers are kept in <dir>/data/light.db, so a restart needs no
--height/--hash. The proxy on --laddr serves, with CometBFT's JSON: block,
header, commit, validators and status from verified headers (a block's
transactions are checked against its header), and abci_query passed through
to the primary: the proxy does NOT verify query results or their proofs.`,
		Example: `  bftnode light my-chain --primary tcp://10.0.0.1:26657 \
      --witnesses tcp://10.0.0.2:26657,tcp://10.0.0.3:26657 \
      --height 100 --hash 6B1C…E0
  bftnode light my-chain --primary … --witnesses …   # again, from the store`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.dir == "" {
				o.dir = c.lightHome(cmd)
			}
			return c.runLight(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.primary, "primary", "p", "", "RPC address of the primary node (tcp://host:port or http://…)")
	f.StringVarP(&o.witnesses, "witnesses", "w", "", "comma-separated RPC addresses of witness nodes, to cross-check the primary")
	f.Int64Var(&o.height, "height", 0, "height of the header to trust (needed on the first run)")
	f.StringVar(&o.hash, "hash", "", "hex hash of the header to trust at --height")
	f.StringVar(&o.dir, "home-dir", "", "light client directory, as CometBFT names it (default --home if given, else ~/.bftnode-light)")
	f.StringVarP(&o.dir, "dir", "d", "", "the same as --home-dir")
	f.StringVar(&o.laddr, "laddr", "tcp://127.0.0.1:8888", "address the proxy serves the verified RPC on")
	f.StringVar(&o.trustLevel, "trust-level", light.DefaultTrustLevel.String(), "share of the trusted validator set's power that must sign a skipped-to header, in [1/3, 1]")
	f.DurationVar(&o.trustingPeriod, "trusting-period", light.DefaultVerifyOptions.TrustingPeriod, "how long a verified header is trusted (shorter than the unbonding period)")
	f.DurationVar(&o.maxClockDrift, "max-clock-drift", light.DefaultVerifyOptions.MaxClockDrift, "how far in the future a header's time may be")
	f.BoolVar(&o.sequential, "sequential", false, "verify every header in turn instead of skipping")
	f.IntVar(&o.maxOpenConnections, "max-open-connections", 900, "maximum simultaneous proxy connections")
	return cmd
}

// lightHome is --home when given on the command line or in BFTNODE_HOME,
// else ~/.bftnode-light (never a node's home by default).
func (c *cli) lightHome(cmd *cobra.Command) string {
	if _, env := c.lookupEnv("BFTNODE_HOME"); cmd.Flags().Changed("home") || env {
		return c.home
	}
	if dir, err := os.UserHomeDir(); err == nil {
		return filepath.Join(dir, ".bftnode-light")
	}
	return ".bftnode-light"
}

func (c *cli) runLight(ctx context.Context, chainID string, o lightOpts) error {
	if o.primary == "" {
		return errors.New("light: --primary is required: the RPC address of a node of the chain")
	}
	if o.witnesses == "" {
		return errors.New("light: --witnesses is required: at least one other node to cross-check the primary")
	}
	tl, err := light.ParseTrustLevel(o.trustLevel)
	if err != nil {
		return fmt.Errorf("light: --trust-level: %w", err)
	}
	var trust light.TrustOptions
	if o.height != 0 || o.hash != "" {
		h, err := hex.DecodeString(o.hash)
		if o.height <= 0 || err != nil || len(h) != len(types.Hash{}) {
			return fmt.Errorf("light: --height %d --hash %q: give a positive height and the 64-hex-digit hash of its header", o.height, o.hash)
		}
		trust = light.TrustOptions{Height: o.height, Hash: types.Hash(h)}
	}
	level := c.logLevel
	if level == "" {
		level = "info"
	}
	logger, err := newLogger(c.stderr, level, c.logFormat)
	if err != nil {
		return err
	}
	primary, err := light.NewRPCProvider(o.primary)
	if err != nil {
		return err
	}
	var witnesses []light.Provider
	for _, addr := range strings.Split(o.witnesses, ",") {
		w, err := light.NewRPCProvider(strings.TrimSpace(addr))
		if err != nil {
			return err
		}
		witnesses = append(witnesses, w)
	}
	store, err := light.OpenStore(filepath.Join(o.dir, "data", "light.db"), nil, logger)
	if err != nil {
		return err
	}
	defer store.Close() //nolint:errcheck // closed on the way out
	client, err := light.NewClient(ctx, chainID, trust, primary, witnesses, store, light.ClientOptions{
		VerifyOptions: light.VerifyOptions{TrustingPeriod: o.trustingPeriod, TrustLevel: tl, MaxClockDrift: o.maxClockDrift},
		Sequential:    o.sequential,
		EvidenceDir:   filepath.Join(o.dir, "data", "evidence"),
		Logger:        logger,
	})
	if err != nil {
		return err
	}
	latest, err := client.Update(ctx)
	if err != nil {
		return err
	}
	cfg := rpc.DefaultConfig()
	cfg.ListenAddress, cfg.MaxOpenConnections = o.laddr, o.maxOpenConnections
	srv, err := rpc.NewServer(cfg, light.NewProxy(client, primary), logger)
	if err != nil {
		return err
	}
	ln, err := rpc.Listen(o.laddr)
	if err != nil {
		return fmt.Errorf("light: --laddr: %w", err)
	}
	logger.Info("light client proxy serving verified block, header, commit, validators, status; abci_query is passed through unverified",
		"laddr", ln.Addr().String(), "chain_id", chainID, "latest_verified", latest.Height())
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-client.Halted():
			stop()
		case <-serveCtx.Done():
		}
	}()
	if err := srv.Serve(serveCtx, ln); err != nil {
		return err
	}
	if conflict := client.Conflict(); conflict != nil {
		return conflict
	}
	return nil
}
