package interop

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// TestSignerCometBFTSignerServerUnderKills: node0 of four bftnode
// validators signs through CometBFT's own SignerServer with its FilePV (a
// separate process dialing node0's priv_validator_laddr, with the
// validator's key converted by CometBFT and removed from node0's home).
// The network makes 200 heights, then node0 and the signer are killed
// with SIGKILL at random moments 20 times (seeded; the seed is logged, and
// BFTNODE_INTEROP_SEED replays it). Afterwards no validator has signed two
// different messages for one height, round and type: not in any node's
// WAL (bftnode wal-dump --messages), not in any commit of any node, whose
// signatures CometBFT's own code verifies.
func TestSignerCometBFTSignerServerUnderKills(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BFTNODE_INTEROP_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("BFTNODE_INTEROP_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with BFTNODE_INTEROP_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	nw, sp, gen := remoteSignedNetwork(t, func(dir string) string { return "unix://" + filepath.Join(dir, "s.sock") }, nil)
	remote := privval.LoadFilePVEmptyState(sp.spec.KeyFile, "").GetAddress().String()

	began := time.Now()
	nw.waitHeight(200, 10*time.Minute)
	t.Logf("200 heights in %v", time.Since(began).Round(time.Second))
	counts := map[string]int{}
	for _, v := range gen.Validators {
		counts[v.Address.String()] = signedBy(t, nw, 1, v.Address.String(), 2, 200)
	}
	var failures []string
	for _, line := range strings.Split(readFile(t, nw.nodes[0].logPath), "\n") {
		if strings.Contains(line, "the remote signer did not sign a") {
			_, reason, _ := strings.Cut(line, " err=")
			failures = append(failures, reason)
		}
	}
	t.Logf("precommits in the commits of heights 2..200 (node1's view): %v (%s signs remotely); remote signer failures logged by node0: %d %q",
		counts, remote, len(failures), failures[:min(len(failures), 3)])
	// Its precommits come one signer round trip (and fsync) later than the
	// others', which with these fast timeouts often misses the commit.
	if counts[remote] < 20 {
		t.Fatalf("the remote-signed validator %s is in %d of 199 commits, want at least 20", remote, counts[remote])
	}

	began = time.Now()
	h0, err := nw.height(1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))) // a random moment
		h, _ := nw.height(1)
		switch what := rng.IntN(3); what {
		case 0:
			t.Logf("kill %d at height %d: node0", i+1, h)
			nw.kill(0)
			nw.start(0)
		case 1:
			t.Logf("kill %d at height %d: the signer", i+1, h)
			sp.kill()
			sp.start()
		default:
			t.Logf("kill %d at height %d: node0 and the signer", i+1, h)
			sp.kill()
			nw.kill(0)
			if rng.IntN(2) == 0 {
				sp.start()
				nw.start(0)
			} else {
				nw.start(0)
				sp.start()
			}
		}
		nw.waitReady(nw.nodes[0], 2*time.Minute)
	}
	t.Logf("20 kills in %v", time.Since(began).Round(time.Second))
	if end, err := nw.height(1); err == nil {
		t.Logf("the remote-signed validator is in %d commits of the %d heights made during the kills", signedBy(t, nw, 1, remote, h0+1, end), end-h0)
	}

	// The validator signs again after the last kill.
	h, err := nw.height(1)
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "the remote-signed validator in a commit after the kills", 3*time.Minute, func() (bool, error) {
		top, err := nw.height(1)
		return err == nil && top > h+1 && signedBy(t, nw, 1, remote, h+1, top-1) > 0, nil
	})
	top := h
	for i := range nw.nodes {
		hi, err := nw.height(i)
		if err != nil {
			t.Fatal(err)
		}
		top = min(top, hi)
	}
	checkCommits(t, nw, gen, top)
	for i := range nw.nodes {
		if err := nw.stop(i); err != nil {
			t.Logf("%s: %v", nw.nodes[i].name, err)
		}
	}
	sp.kill()
	checkWALs(t, nw)
}

// remoteSignedNetwork starts four bftnode validators, node0 of which signs
// with CometBFT's SignerServer and FilePV in a process of its own, dialing
// node0's priv_validator_laddr, laddr(a directory for the signer). setup,
// if not nil, runs first (to edit the genesis, say).
func remoteSignedNetwork(t *testing.T, laddr func(dir string) string, setup func(nw *network)) (*network, *signerProc, *cmttypes.GenesisDoc) {
	t.Helper()
	var sp *signerProc
	nw := newNetwork(t, 4, netOptions{Setup: func(nw *network) {
		if setup != nil {
			setup(nw)
		}
		home := nw.nodes[0].home
		dir := filepath.Join(nw.dir, "signer")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		addr := laddr(dir)
		sp = newSignerProc(t, dir, addr, nw.chainID, filepath.Join(home, "config", "priv_validator_key.json"))
		setConfigKey(t, home, "priv_validator_laddr", addr)
		sp.start()
	}})
	gen, err := cmttypes.GenesisDocFromFile(filepath.Join(nw.nodes[0].home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	return nw, sp, gen
}

// TestSignerCometBFTSignerServerOverTCP: CometBFT's SignerServer dials
// node0 over TCP, inside CometBFT's SecretConnection, and signs for it:
// its precommits are in the commits, which CometBFT verifies.
func TestSignerCometBFTSignerServerOverTCP(t *testing.T) {
	nw, sp, gen := remoteSignedNetwork(t, func(string) string { return fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t)) }, nil)
	checkRemoteSigned(t, nw, sp, gen, 2, 30)
}

// checkRemoteSigned waits for height to and checks that the validator
// signing with sp is in some of the commits of heights from..to, which
// CometBFT verifies.
func checkRemoteSigned(t *testing.T, nw *network, sp *signerProc, gen *cmttypes.GenesisDoc, from, to int64) {
	t.Helper()
	remote := privval.LoadFilePVEmptyState(sp.spec.KeyFile, "").GetAddress().String()
	nw.waitHeight(to, 5*time.Minute)
	n := signedBy(t, nw, 1, remote, from, to)
	t.Logf("the remote-signed validator is in %d of the commits of heights %d..%d", n, from, to)
	if n == 0 {
		t.Fatalf("the validator with a remote signer (%s) is in none of the commits of heights %d..%d", remote, from, to)
	}
	checkCommits(t, nw, gen, to)
}

// TestSignerCometBFTSignerServerVoteExtensions: with vote extensions in
// force from height 2, CometBFT's SignerServer signs node0's precommits and
// their extensions (bftnode asks for both in one request, as CometBFT
// does): the other validators verify those extension signatures before
// counting the precommits, and node0's precommits are in their commits.
func TestSignerCometBFTSignerServerVoteExtensions(t *testing.T) {
	nw, sp, gen := remoteSignedNetwork(t, func(dir string) string { return "unix://" + filepath.Join(dir, "s.sock") }, func(nw *network) {
		for _, nd := range nw.nodes {
			setGenesisVoteExtensions(t, filepath.Join(nd.home, "config", "genesis.json"), 2)
		}
	})
	checkRemoteSigned(t, nw, sp, gen, 3, 20)
}

// setConfigKey sets a top-level key of the home's config.toml.
func setConfigKey(t *testing.T, home, key, value string) {
	t.Helper()
	path := filepath.Join(home, "config", "config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = .*$`)
	if !re.Match(data) {
		t.Fatalf("%s has no %s line", path, key)
	}
	data = re.ReplaceAll(data, []byte(fmt.Sprintf("%s = %q", key, value)))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// commitJSON is the part of /commit the checks read.
type commitJSON struct {
	SignedHeader struct {
		Commit struct {
			Height  string `json:"height"`
			Round   int32  `json:"round"`
			BlockID struct {
				Hash  string `json:"hash"`
				Parts struct {
					Total uint32 `json:"total"`
					Hash  string `json:"hash"`
				} `json:"parts"`
			} `json:"block_id"`
			Signatures []struct {
				Flag      int       `json:"block_id_flag"`
				Validator string    `json:"validator_address"`
				Timestamp time.Time `json:"timestamp"`
				Signature []byte    `json:"signature"`
			} `json:"signatures"`
		} `json:"commit"`
	} `json:"signed_header"`
}

func getCommit(t *testing.T, nw *network, i int, h int64) commitJSON {
	t.Helper()
	var c commitJSON
	if err := rawCall(nw.nodes[i].RPC(), fmt.Sprintf("commit?height=%d", h), &c); err != nil {
		t.Fatalf("%s: /commit?height=%d: %v", nw.nodes[i].name, h, err)
	}
	return c
}

// signedBy counts the commits of heights [from, to] on node i that carry a
// signature of validator addr.
func signedBy(t *testing.T, nw *network, i int, addr string, from, to int64) int {
	t.Helper()
	n := 0
	for h := from; h <= to; h++ {
		for _, s := range getCommit(t, nw, i, h).SignedHeader.Commit.Signatures {
			if s.Validator == addr && len(s.Signature) > 0 {
				n++
			}
		}
	}
	return n
}

// checkCommits reads the commit of every height up to top on every node
// and checks that no validator has two signatures for one height and
// round, and that CometBFT verifies every signature.
func checkCommits(t *testing.T, nw *network, gen *cmttypes.GenesisDoc, top int64) {
	t.Helper()
	keys := map[string]cmttypes.GenesisValidator{}
	for _, v := range gen.Validators {
		keys[v.Address.String()] = v
	}
	type slot struct {
		height int64
		round  int32
		val    string
	}
	seen := map[slot]string{}
	checked := 0
	for i := range nw.nodes {
		for h := int64(1); h <= top; h++ {
			c := getCommit(t, nw, i, h).SignedHeader.Commit
			hash, _ := hex.DecodeString(c.BlockID.Hash)
			parts, _ := hex.DecodeString(c.BlockID.Parts.Hash)
			for _, s := range c.Signatures {
				if s.Flag != int(cmtproto.BlockIDFlagCommit) && s.Flag != int(cmtproto.BlockIDFlagNil) {
					continue
				}
				val, ok := keys[s.Validator]
				if !ok {
					t.Fatalf("%s: commit %d: a signature of %s, not a validator", nw.nodes[i].name, h, s.Validator)
				}
				vote := &cmtproto.Vote{Type: cmtproto.PrecommitType, Height: h, Round: c.Round, Timestamp: s.Timestamp}
				if s.Flag == int(cmtproto.BlockIDFlagCommit) {
					vote.BlockID = cmtproto.BlockID{Hash: hash, PartSetHeader: cmtproto.PartSetHeader{Total: c.BlockID.Parts.Total, Hash: parts}}
				}
				if !val.PubKey.VerifySignature(cmttypes.VoteSignBytes(gen.ChainID, vote), s.Signature) {
					t.Fatalf("%s: commit %d: CometBFT does not verify the precommit signature of %s", nw.nodes[i].name, h, s.Validator)
				}
				k := slot{h, c.Round, s.Validator}
				sig := hex.EncodeToString(s.Signature)
				if old, ok := seen[k]; ok && old != sig {
					t.Fatalf("double sign: validator %s has two precommit signatures at height %d round %d (%s sees %s, another node %s)",
						s.Validator, h, c.Round, nw.nodes[i].name, sig, old)
				}
				seen[k] = sig
				checked++
			}
		}
	}
	t.Logf("commits of heights 1..%d on %d nodes: %d signatures verified by CometBFT, none conflicting", top, len(nw.nodes), checked)
}

// walLine matches a vote or proposal line of `bftnode wal-dump --messages`.
var walLine = regexp.MustCompile(`^(vote type=(\S+) |proposal )height=(\d+) round=(\d+) (validator=(\S+) |pol_round=(\S+) )block=(\S+) timestamp=(\S+) signature=(\S+)$`)

// checkWALs reads every node's WAL with `bftnode wal-dump --messages` and
// checks that no validator signed two different votes of one type, and no
// proposer two different proposals, for one height and round.
func checkWALs(t *testing.T, nw *network) {
	t.Helper()
	type signed struct{ what, sig, where string }
	seen := map[string]signed{}
	lines := 0
	for _, nd := range nw.nodes {
		cmd := exec.Command(bftnodeBin, "wal-dump", "--messages", "--home", nd.home)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: bftnode wal-dump --messages: %v\n%s", nd.name, err, stderr.String())
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "file=") {
				continue
			}
			m := walLine.FindStringSubmatch(sc.Text())
			if m == nil {
				t.Fatalf("%s: wal-dump line not understood: %q", nd.name, sc.Text())
			}
			lines++
			// The slot: a validator's vote of a type, or a round's proposal.
			slot := fmt.Sprintf("%s %s %s/%s/%s", strings.TrimSpace(m[1]), m[6], m[3], m[4], m[2])
			what := m[8] + " pol_round=" + m[7]
			cur := signed{what, m[10], nd.name}
			old, ok := seen[slot]
			switch {
			case !ok:
				seen[slot] = cur
			case old.what != cur.what:
				t.Fatalf("double sign in the WALs: %s: %s (%s) and %s (%s)", slot, old.what, old.where, cur.what, cur.where)
			case old.sig != cur.sig:
				t.Fatalf("double sign in the WALs: %s for %s has two signatures (%s, %s): different timestamps", slot, cur.what, old.where, cur.where)
			}
		}
	}
	if lines == 0 {
		t.Fatal("the WALs hold no votes or proposals")
	}
	t.Logf("WALs of %d nodes: %d signed messages, %d slots, none conflicting", len(nw.nodes), lines, len(seen))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
