package node

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/rpc"
)

// fast makes a network commit as fast as it can: no commit delay, and a
// short propose timeout so a round with a stopped proposer costs little.
func fast(cfgs []config.Config) {
	for i := range cfgs {
		c := &cfgs[i].Consensus
		c.TimeoutCommit, c.SkipTimeoutCommit = 0, true
		c.TimeoutPropose = 300 * time.Millisecond
	}
}

func waitHeight(t *testing.T, c *rpc.Client, want int64, deadline time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("height %d", want), deadline, func() (bool, error) {
		h, err := height(context.Background(), c)
		return h >= want, err
	})
}

// TestLateFullNodeBlockSyncs: a non-validator started with one bootstrap
// address, after the validators committed many heights, finds the network,
// block-syncs every height and then follows consensus.
func TestLateFullNodeBlockSyncs(t *testing.T) {
	heights := int64(300)
	if os.Getenv("BFTNODE_LONG") != "" {
		heights = 1000
	}
	cfgs := testnet(t, 5, 4)
	fast(cfgs)
	late := cfgs[4]
	late.P2P.PersistentPeers = ""
	late.P2P.BootstrapPeers = firstPeer(cfgs[0])
	for _, cfg := range cfgs[:4] {
		start(t, cfg)
	}
	c0 := client(t, cfgs[0])
	waitHeight(t, c0, heights, 3*time.Minute)

	began := time.Now()
	start(t, late)
	cl := client(t, late)
	waitHeight(t, cl, heights, 3*time.Minute)
	t.Logf("block-synced %d heights in %v (%.0f heights/s)", heights, time.Since(began).Round(time.Millisecond), float64(heights)/time.Since(began).Seconds())
	// Then it follows consensus: it keeps up with new heights.
	top, err := height(context.Background(), c0)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, cl, top+10, time.Minute)
}

// firstPeer returns the multiaddr of cfg's node as written in the others'
// persistent peers.
func firstPeer(cfg config.Config) string {
	return cfg.P2P.ListenAddress + "/p2p/" + peerID(cfg)
}

// TestValidatorRejoinsAfterOutage: one validator is stopped while the other
// three commit 50 heights, then restarted from its stores: it catches up and
// takes part again.
func TestValidatorRejoinsAfterOutage(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	fast(cfgs)
	stops := make([]func(), 4)
	for i, cfg := range cfgs {
		stops[i] = start(t, cfg)
	}
	c0, c3 := client(t, cfgs[0]), client(t, cfgs[3])
	waitHeight(t, c3, 3, time.Minute)
	stops[3]()
	down, err := height(context.Background(), c0)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, c0, down+50, 2*time.Minute)
	start(t, cfgs[3])
	top, err := height(context.Background(), c0)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, client(t, cfgs[3]), top+5, 2*time.Minute)
	// It signs again: its address appears in a commit after it caught up.
	pv := validatorAddr(t, cfgs[3])
	waitFor(t, "the restarted validator to sign a commit", time.Minute, func() (bool, error) {
		h, err := height(context.Background(), c3)
		if err != nil || h < top+6 {
			return false, err
		}
		signers, err := signersAt(context.Background(), c0, h-1)
		return signers[pv], err
	})
}

// peerID is the libp2p ID of cfg's node key.
func peerID(cfg config.Config) string {
	k, err := config.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		panic(err) // testnet wrote it
	}
	id, err := k.PeerID()
	if err != nil {
		panic(err)
	}
	return id.String()
}

// validatorAddr is the upper-case hex address of cfg's validator key.
func validatorAddr(t *testing.T, cfg config.Config) string {
	t.Helper()
	pv, err := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%X", pv.Address())
}
