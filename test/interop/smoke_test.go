package interop

import (
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
)

// TestHarnessNetworkCommits checks the harness itself: four bftnode
// validators with the built-in kvstore start and commit, and CometBFT reads
// the genesis they share.
func TestHarnessNetworkCommits(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{})
	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(nw.nodes[0].home, "config", "genesis.json"))
	if err != nil {
		t.Fatalf("CometBFT cannot load bftnode's genesis: %v", err)
	}
	if gen.ChainID != nw.chainID || len(gen.Validators) != 4 {
		t.Fatalf("CometBFT read chain %q with %d validators, want %q with 4", gen.ChainID, len(gen.Validators), nw.chainID)
	}
	nw.waitHeight(3, 2*time.Minute)
	if err := nw.stop(0); err != nil {
		t.Fatalf("node0 did not stop cleanly: %v", err)
	}
}
