package interop

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
)

// startAppKVStore runs `bftnode app kvstore`, bftnode's example application
// as an ABCI socket server, on a fresh TCP port or Unix socket until the
// test ends, and returns its address.
func startAppKVStore(t *testing.T, network string) string {
	t.Helper()
	dir := shortTempDir(t)
	addr := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	if network == "unix" {
		addr = "unix://" + filepath.Join(dir, "app.sock")
	}
	logPath := filepath.Join(dir, "app.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bftnodeBin, "app", "kvstore", "--home", dir, "--listen", addr, "--db", filepath.Join(dir, "db"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = log.Close()
		if t.Failed() {
			t.Logf("----- bftnode app kvstore's log -----\n%s", tail(logPath, 20))
		}
	})
	return addr
}

// dialCometClient connects CometBFT's ABCI socket client to addr, waiting
// for the server to listen; it stops when the test ends.
func dialCometClient(t *testing.T, addr string) abcicli.Client {
	t.Helper()
	var cli abcicli.Client
	poll(t, "the application to listen on "+addr, time.Minute, func() (bool, error) {
		c := abcicli.NewSocketClient(addr, true)
		if err := c.Start(); err != nil {
			return false, nil
		}
		cli = c
		return true, nil
	})
	t.Cleanup(func() { _ = cli.Stop() })
	return cli
}

// driveAppKVStore makes one call of every ABCI method, as a node would make
// them for a chain's first block, with CometBFT's socket client, checks
// each answer, and returns the app hash after the block.
func driveAppKVStore(t *testing.T, cli abcicli.Client) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := func(what string, err error, ok bool, res any) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !ok {
			t.Fatalf("%s: unexpected answer %v", what, res)
		}
	}

	echo, err := cli.Echo(ctx, "hello bftnode")
	check("Echo", err, echo.GetMessage() == "hello bftnode", echo)
	check("Flush", cli.Flush(ctx), true, nil)

	info, err := cli.Info(ctx, &abci.RequestInfo{Version: "0.40.0", AbciVersion: "2.0.0"})
	check("Info on a new app", err, info.GetData() == "kvstore" && info.GetAppVersion() == 1 &&
		info.GetLastBlockHeight() == 0 && len(info.GetLastBlockAppHash()) == 0, info)

	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	params := &cmtproto.ConsensusParams{
		Block:     &cmtproto.BlockParams{MaxBytes: 1 << 20, MaxGas: -1},
		Validator: &cmtproto.ValidatorParams{PubKeyTypes: []string{"ed25519"}},
		Abci:      &cmtproto.ABCIParams{},
	}
	initChain, err := cli.InitChain(ctx, &abci.RequestInitChain{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ChainId: "interop-abci", ConsensusParams: params, InitialHeight: 1,
		Validators: []abci.ValidatorUpdate{{PubKey: cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: pub}}, Power: 10}},
	})
	check("InitChain", err, len(initChain.GetAppHash()) == 32, initChain)

	ok, err := cli.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("name=satoshi"), Type: abci.CheckTxType_New})
	check("CheckTx of a good tx", err, ok.GetCode() == 0 && ok.GetGasWanted() == 1, ok)
	recheck, err := cli.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("a=1"), Type: abci.CheckTxType_Recheck})
	check("CheckTx (recheck)", err, recheck.GetCode() == 0, recheck)
	bad, err := cli.CheckTx(ctx, &abci.RequestCheckTx{Tx: []byte("=nokey")})
	check("CheckTx of a tx without a key", err, bad.GetCode() != 0 && bad.GetLog() != "", bad)

	txs := [][]byte{[]byte("a=1"), []byte("=nokey"), []byte("name=satoshi")}
	blockTime := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	proposer := []byte("01234567890123456789")
	prep, err := cli.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: 1000, Txs: txs, Height: 1, Time: blockTime, ProposerAddress: proposer})
	check("PrepareProposal drops the bad tx", err, slices.EqualFunc(prep.GetTxs(), [][]byte{txs[0], txs[2]}, bytes.Equal), prep)
	small, err := cli.PrepareProposal(ctx, &abci.RequestPrepareProposal{MaxTxBytes: 5, Txs: txs, Height: 1, Time: blockTime, ProposerAddress: proposer})
	check("PrepareProposal keeps to max_tx_bytes", err, slices.EqualFunc(small.GetTxs(), [][]byte{txs[0]}, bytes.Equal), small)
	accept, err := cli.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: prep.GetTxs(), Height: 1, Hash: []byte("block1"), Time: blockTime, ProposerAddress: proposer})
	check("ProcessProposal of the prepared block", err, accept.IsAccepted(), accept)
	reject, err := cli.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 1, Hash: []byte("other"), Time: blockTime, ProposerAddress: proposer})
	check("ProcessProposal of a block with a bad tx", err, reject.GetStatus() == abci.ResponseProcessProposal_REJECT, reject)

	ext, err := cli.ExtendVote(ctx, &abci.RequestExtendVote{Hash: []byte("block1"), Height: 1, Time: blockTime, Txs: prep.GetTxs(), ProposerAddress: proposer})
	check("ExtendVote", err, ext != nil && len(ext.GetVoteExtension()) == 0, ext)
	verify, err := cli.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{Hash: []byte("block1"), ValidatorAddress: proposer, Height: 1})
	check("VerifyVoteExtension", err, verify.IsAccepted(), verify)

	fin, err := cli.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: append(prep.GetTxs(), txs[1]), Hash: []byte("block1"), Height: 1, Time: blockTime, ProposerAddress: proposer})
	codes := []uint32{}
	for _, r := range fin.GetTxResults() {
		codes = append(codes, r.GetCode())
	}
	check("FinalizeBlock", err, len(codes) == 3 && codes[0] == 0 && codes[1] == 0 && codes[2] != 0 &&
		len(fin.GetAppHash()) == 32 && !bytes.Equal(fin.GetAppHash(), initChain.GetAppHash()), fin)
	pending, err := cli.Query(ctx, &abci.RequestQuery{Data: []byte("name")})
	check("Query before Commit sees the committed state", err, len(pending.GetValue()) == 0 && pending.GetHeight() == 0, pending)
	commit, err := cli.Commit(ctx, &abci.RequestCommit{})
	check("Commit", err, commit != nil, commit)

	byData, err := cli.Query(ctx, &abci.RequestQuery{Data: []byte("name")})
	check("Query by data", err, byData.IsOK() && string(byData.GetValue()) == "satoshi" && byData.GetHeight() == 1, byData)
	byPath, err := cli.Query(ctx, &abci.RequestQuery{Path: "/a"})
	check("Query by path", err, byPath.IsOK() && string(byPath.GetValue()) == "1", byPath)
	missing, err := cli.Query(ctx, &abci.RequestQuery{Data: []byte("nokey")})
	check("Query of a key never written", err, len(missing.GetValue()) == 0 && missing.GetLog() != "", missing)
	after, err := cli.Info(ctx, &abci.RequestInfo{})
	check("Info after the block", err, after.GetLastBlockHeight() == 1 && bytes.Equal(after.GetLastBlockAppHash(), fin.GetAppHash()), after)

	snaps, err := cli.ListSnapshots(ctx, &abci.RequestListSnapshots{})
	check("ListSnapshots", err, snaps != nil && len(snaps.GetSnapshots()) == 0, snaps)
	offer, err := cli.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: &abci.Snapshot{Height: 1, Format: 1, Chunks: 1, Hash: []byte("h")}, AppHash: fin.GetAppHash()})
	check("OfferSnapshot", err, offer.GetResult() == abci.ResponseOfferSnapshot_ABORT, offer)
	chunk, err := cli.LoadSnapshotChunk(ctx, &abci.RequestLoadSnapshotChunk{Height: 1, Format: 1})
	check("LoadSnapshotChunk", err, chunk != nil && len(chunk.GetChunk()) == 0, chunk)
	apply, err := cli.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Chunk: []byte("c"), Sender: "peer"})
	check("ApplySnapshotChunk", err, apply.GetResult() == abci.ResponseApplySnapshotChunk_ABORT, apply)
	return fin.GetAppHash()
}

// TestABCIServerAppKVStore drives `bftnode app kvstore` with CometBFT's
// ABCI socket client through every ABCI 2.0 method, over TCP and over a
// Unix socket; both servers reach the same app hash. v0.40's InsertTx and
// ReapTxs are answered as CometBFT's BaseApplication answers them (the
// kvstore keeps no mempool of its own): accepted, and no txs.
func TestABCIServerAppKVStore(t *testing.T) {
	hashes := map[string][]byte{}
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			cli := dialCometClient(t, startAppKVStore(t, network))
			hashes[network] = driveAppKVStore(t, cli)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ins, err := cli.InsertTx(ctx, &abci.RequestInsertTx{Tx: []byte("k=v")})
			if err != nil || ins.Code != abci.CodeTypeOK {
				t.Fatalf("InsertTx = %v, %v; want code 0", ins, err)
			}
			reap, err := cli.ReapTxs(ctx, &abci.RequestReapTxs{MaxBytes: 100})
			if err != nil || len(reap.Txs) != 0 {
				t.Fatalf("ReapTxs = %v, %v; want no txs", reap, err)
			}
		})
	}
	if !bytes.Equal(hashes["tcp"], hashes["unix"]) {
		t.Fatalf("the same block gave app hash %X over TCP, %X over a Unix socket", hashes["tcp"], hashes["unix"])
	}
}
