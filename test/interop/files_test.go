package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
)

// The files of a home directory, relative to it.
const (
	genesisRel   = "config/genesis.json"
	nodeKeyRel   = "config/node_key.json"
	pvKeyRel     = "config/priv_validator_key.json"
	pvStateRel   = "data/priv_validator_state.json"
	initPower    = 10 // the power `cometbft init`, `bftnode init` and `bftnode testnet` give a validator
	testnetPower = 1  // the power `cometbft testnet` gives each validator
)

// TestFilesCometBFTInitGenesisStartsBftnode: a genesis.json in the shape
// `cometbft init` writes (CometBFT's GenesisDoc with its default consensus
// parameters, saved by SaveAs), put into a home made by `bftnode init` with
// that home's validator key, starts a bftnode chain that commits.
func TestFilesCometBFTInitGenesisStartsBftnode(t *testing.T) {
	nw := newNetwork(t, 1, netOptions{Setup: func(nw *network) {
		nd := nw.nodes[0]
		if err := os.RemoveAll(nd.home); err != nil {
			t.Fatal(err)
		}
		runBftnode(t, "init", "--home", nd.home, "--chain-id", "replaced-below", "--moniker", nd.name)
		nd.peerID = strings.TrimSpace(runBftnode(t, "show-node-id", "--libp2p", "--home", nd.home))
		pv := cometLoadFilePV(t, nd.home, false)
		pub, err := pv.GetPubKey()
		if err != nil {
			t.Fatal(err)
		}
		gen := cmttypes.GenesisDoc{
			ChainID:         nw.chainID,
			GenesisTime:     cmttime.Now(),
			ConsensusParams: cmttypes.DefaultConsensusParams(),
			Validators:      []cmttypes.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: initPower}},
		}
		if err := gen.SaveAs(filepath.Join(nd.home, genesisRel)); err != nil {
			t.Fatal(err)
		}
	}})
	nw.waitHeight(3, 2*time.Minute)
	checkNodeIdentity(t, nw.nodes[0], initPower)
}

// TestFilesCometBFTTestnetFilesStartBftnode: four homes whose key files are
// written by CometBFT's own code (privval.GenFilePV, p2p.LoadOrGenNodeKey)
// and whose genesis has the shape `cometbft testnet` writes (initial height
// "0", power 1, named validators, not completed before saving) start a
// bftnode network that commits, and each node reports the identity
// CometBFT derives from its files.
func TestFilesCometBFTTestnetFilesStartBftnode(t *testing.T) {
	nw := newNetwork(t, 4, netOptions{Setup: func(nw *network) {
		var vals []cmttypes.GenesisValidator
		for _, nd := range nw.nodes {
			for _, rel := range []string{nodeKeyRel, pvKeyRel, pvStateRel} {
				if err := os.Remove(filepath.Join(nd.home, rel)); err != nil {
					t.Fatal(err)
				}
			}
			pv := privval.GenFilePV(filepath.Join(nd.home, pvKeyRel), filepath.Join(nd.home, pvStateRel))
			pv.Save()
			if _, err := p2p.LoadOrGenNodeKey(filepath.Join(nd.home, nodeKeyRel)); err != nil {
				t.Fatal(err)
			}
			nd.peerID = strings.TrimSpace(runBftnode(t, "show-node-id", "--libp2p", "--home", nd.home))
			pub, err := pv.GetPubKey()
			if err != nil {
				t.Fatal(err)
			}
			vals = append(vals, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: testnetPower, Name: nd.name})
		}
		gen := &cmttypes.GenesisDoc{
			ChainID:         nw.chainID,
			ConsensusParams: cmttypes.DefaultConsensusParams(),
			GenesisTime:     cmttime.Now(),
			Validators:      vals,
		}
		for _, nd := range nw.nodes {
			if err := gen.SaveAs(filepath.Join(nd.home, genesisRel)); err != nil {
				t.Fatal(err)
			}
		}
	}})
	nw.waitHeight(3, 2*time.Minute)
	for _, nd := range nw.nodes {
		checkNodeIdentity(t, nd, testnetPower)
	}
}

// TestFilesBftnodeFilesLoadInCometBFT: the files `bftnode init` writes
// (genesis, node key, validator key and its fresh sign state) load with
// CometBFT's own loaders, which find the same validator and node ID that
// bftnode's commands print.
func TestFilesBftnodeFilesLoadInCometBFT(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	runBftnode(t, "init", "--home", home, "--chain-id", "files-chain", "--moniker", "alice")

	data, err := os.ReadFile(filepath.Join(home, genesisRel))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := cmttypes.GenesisDocFromJSON(data) // validates and completes
	if err != nil {
		t.Fatalf("CometBFT rejects bftnode's genesis.json: %v\n%s", err, data)
	}
	if err := gen.ConsensusParams.ValidateBasic(); err != nil {
		t.Fatalf("CometBFT rejects the consensus parameters of bftnode's genesis.json: %v", err)
	}
	if gen.ChainID != "files-chain" || gen.InitialHeight != 1 || len(gen.Validators) != 1 || gen.Validators[0].Power != initPower || gen.Validators[0].Name != "alice" {
		t.Fatalf("CometBFT reads %+v", gen)
	}

	pv := cometLoadFilePV(t, home, true)
	pub, err := pv.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	if !gen.Validators[0].PubKey.Equals(pub) || !bytes.Equal(gen.Validators[0].Address, pv.GetAddress()) {
		t.Fatalf("genesis validator %X, CometBFT reads %X from priv_validator_key.json", gen.Validators[0].Address, pv.GetAddress())
	}
	var shown struct {
		Type  string `json:"type"`
		Value []byte `json:"value"`
	}
	if err := cmtjson.Unmarshal([]byte(runBftnode(t, "show-validator", "--home", home)), &shown); err != nil ||
		shown.Type != "tendermint/PubKeyEd25519" || !bytes.Equal(shown.Value, pub.Bytes()) {
		t.Fatalf("bftnode show-validator %+v (%v), CometBFT reads %v", shown, err, pub)
	}

	nodeKey, err := p2p.LoadNodeKey(filepath.Join(home, nodeKeyRel))
	if err != nil {
		t.Fatalf("CometBFT cannot load bftnode's node_key.json: %v", err)
	}
	if shown := strings.TrimSpace(runBftnode(t, "show-node-id", "--home", home)); shown != string(nodeKey.ID()) {
		t.Fatalf("bftnode show-node-id prints %q, CometBFT derives %q", shown, nodeKey.ID())
	}
}

// checkNodeIdentity compares nd's /status, decoded by CometBFT's client,
// with what CometBFT's loaders read from its key files. (Not its sign state
// file: once the node has signed, that file is bftnode's own two-slot
// format, which CometBFT does not read; see privval's doc.)
func checkNodeIdentity(t *testing.T, nd *bnode, power int64) {
	t.Helper()
	c, _ := cometClient(t, nd)
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatalf("%s: status: %v", nd.name, err)
	}
	nodeKey, err := p2p.LoadNodeKey(filepath.Join(nd.home, nodeKeyRel))
	if err != nil {
		t.Fatal(err)
	}
	pv := cometLoadFilePV(t, nd.home, false)
	pub, err := pv.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	if st.NodeInfo.ID() != nodeKey.ID() {
		t.Errorf("%s: node_info.id %q, CometBFT derives %q from node_key.json", nd.name, st.NodeInfo.ID(), nodeKey.ID())
	}
	checkValidatorInfo(t, nd.name, st.ValidatorInfo, pv.GetAddress(), pub.Bytes(), power)
}

func checkValidatorInfo(t *testing.T, name string, vi ctypes.ValidatorInfo, addr, pub []byte, power int64) {
	t.Helper()
	if !bytes.Equal(vi.Address, addr) || vi.PubKey == nil || !bytes.Equal(vi.PubKey.Bytes(), pub) || vi.VotingPower != power {
		t.Errorf("%s: validator_info %X %v power %d; CometBFT reads %X %X from the key file, power %d in the genesis",
			name, vi.Address, vi.PubKey, vi.VotingPower, addr, pub, power)
	}
}

// cometLoadFilePV loads home's validator key (and with state, its last-sign
// state) with CometBFT's privval.LoadFilePV. That function exits the
// process on a bad file, so the files are first decoded the way it does,
// to fail the test with a message instead; the key file's address and
// public key must match its private key.
func cometLoadFilePV(t *testing.T, home string, state bool) *privval.FilePV {
	t.Helper()
	keyPath, statePath := filepath.Join(home, pvKeyRel), filepath.Join(home, pvStateRel)
	var key privval.FilePVKey
	if err := decodeFile(keyPath, &key); err != nil {
		t.Fatalf("CometBFT cannot read bftnode's %s: %v", pvKeyRel, err)
	}
	if !key.PrivKey.PubKey().Equals(key.PubKey) || !bytes.Equal(key.Address, key.PubKey.Address()) {
		t.Fatalf("%s: address %X and pub_key %v do not belong to its priv_key", keyPath, key.Address, key.PubKey)
	}
	if !state {
		return privval.LoadFilePVEmptyState(keyPath, statePath)
	}
	var st privval.FilePVLastSignState
	if err := decodeFile(statePath, &st); err != nil {
		t.Fatalf("CometBFT cannot read bftnode's %s: %v", pvStateRel, err)
	}
	return privval.LoadFilePV(keyPath, statePath)
}

func decodeFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := cmtjson.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w\n%s", err, data)
	}
	return nil
}
