package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/rpc"
	"github.com/bftnode/bftnode/types"
)

// signedPrevote is a prevote of priv's validator at height, round 0, for a
// made-up block named name, dated t.
func signedPrevote(priv ed25519.PrivateKey, chainID string, height int64, t time.Time, name string) *types.Vote {
	v := &types.Vote{Type: types.PrevoteType, Height: height, Timestamp: t,
		BlockID:          types.BlockID{Hash: sha256.Sum256([]byte(name)), PartSetHeader: types.PartSetHeader{Total: 1, Hash: sha256.Sum256([]byte(name + " parts"))}},
		ValidatorAddress: types.AddressOf(priv.Public().(ed25519.PublicKey))}
	v.Signature = ed25519.Sign(priv, types.VoteSignBytes(chainID, v))
	return v
}

// resigned is v signed by priv at height h instead.
func resigned(priv ed25519.PrivateKey, chainID string, v *types.Vote, h int64) *types.Vote {
	out := *v
	out.Height, out.ValidatorAddress = h, types.AddressOf(priv.Public().(ed25519.PublicKey))
	out.Signature = ed25519.Sign(priv, types.VoteSignBytes(chainID, &out))
	return &out
}

// badProposer is an evidence pool whose Pending is, while set, the
// evidence it holds, valid or not: the pool of a proposer that puts bad
// evidence in its blocks. Everything else is the node's own pool.
type badProposer struct {
	engine.EvidencePool
	bad atomic.Pointer[types.EvidenceList]
}

func (p *badProposer) Pending(maxBytes int64) types.EvidenceList {
	if l := p.bad.Load(); l != nil {
		return *l
	}
	return p.EvidencePool.Pending(maxBytes)
}

func (p *badProposer) option() Option {
	return WithEngineDeps(func(d *engine.Deps) error {
		p.EvidencePool, d.Evidence = d.Evidence, p
		return nil
	})
}

// evidenceNet is five validators, the last proposing what its badProposer
// holds, on a genesis an hour old (block 1 has the genesis time) whose
// evidence expires past 3 blocks and 20 s.
type evidenceNet struct {
	cfgs    []config.Config
	nodes   []*Node
	keys    []ed25519.PrivateKey
	bad     *badProposer
	chainID string
}

const (
	refusalMaxAgeBlocks = 3
	refusalMaxAge       = 20 * time.Second
)

func startEvidenceNet(t *testing.T) *evidenceNet {
	cfgs := testnet(t, 5, 0)
	fast(cfgs)
	g, err := config.LoadGenesis(cfgs[0].GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	g.GenesisTime = time.Now().UTC().Add(-time.Hour)
	g.ConsensusParams.Evidence.MaxAgeNumBlocks, g.ConsensusParams.Evidence.MaxAgeDuration = refusalMaxAgeBlocks, refusalMaxAge
	net := &evidenceNet{cfgs: cfgs, bad: &badProposer{}, chainID: g.ChainID}
	for _, cfg := range cfgs {
		if err := g.Save(cfg.GenesisFile()); err != nil {
			t.Fatal(err)
		}
		k, err := byzantine.ReadKey(cfg.PrivValidatorKeyFile())
		if err != nil {
			t.Fatal(err)
		}
		net.keys = append(net.keys, k)
	}
	for i, cfg := range cfgs {
		var opts []Option
		if i == 4 {
			opts = append(opts, net.bad.option())
		}
		net.nodes = append(net.nodes, startWith(t, cfg, opts...))
	}
	return net
}

func (net *evidenceNet) height() int64 { return net.nodes[1].store.Height() }

func (net *evidenceNet) blockTime(t *testing.T, h int64) time.Time {
	t.Helper()
	m, err := net.nodes[1].store.LoadBlockMeta(h)
	if err != nil {
		t.Fatal(err)
	}
	return m.Header.Time
}

// duplicate is validator i's two prevotes at height h, as evidence with
// that height's block time and validator set.
func (net *evidenceNet) duplicate(t *testing.T, i int, h int64) *types.DuplicateVoteEvidence {
	t.Helper()
	return nodeDuplicate(t, net.nodes[1], net.keys[i], h)
}

// nodeDuplicate is priv's validator's two prevotes at height h, as
// evidence with the block time and validator set n stores for h.
func nodeDuplicate(t *testing.T, n *Node, priv ed25519.PrivateKey, h int64) *types.DuplicateVoteEvidence {
	t.Helper()
	m, err := n.store.LoadBlockMeta(h)
	if err != nil {
		t.Fatal(err)
	}
	bt := m.Header.Time
	vals, err := n.store.LoadValidators(h)
	if err != nil {
		t.Fatal(err)
	}
	chainID := n.genesis.ChainID
	ev, err := types.NewDuplicateVoteEvidence(signedPrevote(priv, chainID, h, bt, "a"), signedPrevote(priv, chainID, h, bt, "b"), bt, vals)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// broadcast sends ev to node1's broadcast_evidence.
func (net *evidenceNet) broadcast(t *testing.T, ev types.Evidence) error {
	t.Helper()
	var res struct {
		Hash []byte `json:"hash"`
	}
	err := client(t, net.cfgs[1]).Call(context.Background(), "broadcast_evidence",
		map[string]any{"evidence": base64.StdEncoding.EncodeToString(types.EncodeEvidence(ev))}, &res)
	if h := ev.Hash(); err == nil && string(res.Hash) != string(h[:]) {
		t.Fatalf("broadcast_evidence answered hash %X, want %X", res.Hash, ev.Hash())
	}
	return err
}

// rejected is the refusals for reason counted by the pools of nodes idx.
func (net *evidenceNet) rejected(reason string, idx ...int) []uint64 {
	out := make([]uint64, len(idx))
	for j, i := range idx {
		out[j] = net.nodes[i].evidence.Metrics().Rejected[reason]
	}
	return out
}

// proposerTurn returns the first height from..to at which node4 was the
// proposer of round 0, or 0.
func (net *evidenceNet) proposerTurn(t *testing.T, from, to int64) int64 {
	t.Helper()
	for h := from; h <= to; h++ {
		vals, err := net.nodes[1].store.LoadValidators(h)
		if err != nil {
			t.Fatal(err)
		}
		if vals.Proposer().Address == net.nodes[4].signer.Address() {
			return h
		}
	}
	return 0
}

// evidenceBlocks returns the heights from..to of node1's blocks with
// evidence, in order.
func (net *evidenceNet) evidenceBlocks(t *testing.T, from, to int64) []int64 {
	t.Helper()
	var out []int64
	for h := range evidenceIn(t, net.nodes[1], to) {
		if h >= from {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// TestInvalidEvidenceRefused (must-show 2): each kind of invalid evidence
// is refused by broadcast_evidence with an invalid-params error saying why,
// and, proposed in node4's blocks, by the honest validators, whose pools
// count the refusal by reason; node4's block is not committed at its turn,
// no block with the evidence is, and the chain goes on. Same block ID twice
// does not even decode, so honest transports drop node4's block before
// their pools see it.
// Already committed evidence is first committed through broadcast_evidence
// (against node0, which kvstore then removes; four validators remain).
func TestInvalidEvidenceRefused(t *testing.T) {
	net := startEvidenceNet(t)
	c1 := client(t, net.cfgs[1])
	waitHeight(t, c1, 3, time.Minute)

	committed := net.duplicate(t, 0, net.height())
	if err := net.broadcast(t, committed); err != nil {
		t.Fatalf("valid evidence: %v", err)
	}
	waitFor(t, "the valid evidence in a block", time.Minute, func() (bool, error) {
		return len(net.evidenceBlocks(t, 1, net.height())) == 1, nil
	})
	byTimeHeight := net.height()

	honest := []int{1, 2, 3}
	cases := []struct {
		name, reason, says string
		pools              []int // whose pools refuse it from node4's proposal
		ev                 func(t *testing.T) types.Evidence
	}{
		// First, before max_age_duration prunes its committed mark.
		{"already committed", "committed", "already committed", honest, func(*testing.T) types.Evidence { return committed }},
		{"bad signature", "bad_signature", "signature", honest, func(t *testing.T) types.Evidence {
			ev := net.duplicate(t, 2, net.height()-1)
			ev.VoteB.Signature = ev.VoteA.Signature
			return ev
		}},
		{"unknown validator", "unknown_validator", "was not a validator", honest, func(t *testing.T) types.Evidence {
			ev := net.duplicate(t, 2, net.height()-1)
			seed := sha256.Sum256([]byte("stranger"))
			stranger := ed25519.NewKeyFromSeed(seed[:])
			ev.VoteA, ev.VoteB = resigned(stranger, net.chainID, ev.VoteA, ev.Height()), resigned(stranger, net.chainID, ev.VoteB, ev.Height())
			return ev
		}},
		{"same block ID twice", "invalid", "same block ID", nil, func(t *testing.T) types.Evidence {
			ev := net.duplicate(t, 2, net.height()-1)
			twin := *ev.VoteA
			twin.Timestamp = twin.Timestamp.Add(time.Millisecond)
			ev.VoteB = resigned(net.keys[2], net.chainID, &twin, twin.Height)
			return ev
		}},
		{"future height", "future_height", "has not reached", honest, func(t *testing.T) types.Evidence {
			ev := net.duplicate(t, 2, net.height()-1)
			h := net.height() + 100
			ev.VoteA, ev.VoteB = resigned(net.keys[2], net.chainID, ev.VoteA, h), resigned(net.keys[2], net.chainID, ev.VoteB, h)
			return ev
		}},
		{"expired by blocks", "expired", "expired", honest, func(t *testing.T) types.Evidence {
			// Block 1 is an hour old (past max_age_duration from the
			// start): its evidence expires when the blocks pass 3.
			if net.height() <= 1+refusalMaxAgeBlocks {
				t.Fatalf("height %d: not yet past max_age_num_blocks from height 1", net.height())
			}
			return net.duplicate(t, 2, 1)
		}},
		{"expired by time", "expired", "expired", honest, func(t *testing.T) types.Evidence {
			// Its height was more than 3 blocks back while its block was
			// younger than max_age_duration: time expires it.
			past := net.blockTime(t, byTimeHeight+refusalMaxAgeBlocks+1)
			if age := past.Sub(net.blockTime(t, byTimeHeight)); age >= refusalMaxAge {
				t.Fatalf("blocks %d..%d took %v: the blocks should pass max_age_num_blocks before the time passes %v", byTimeHeight, byTimeHeight+refusalMaxAgeBlocks+1, age, refusalMaxAge)
			}
			waitFor(t, "max_age_duration to pass", time.Minute, func() (bool, error) {
				return net.blockTime(t, net.height()).Sub(net.blockTime(t, byTimeHeight)) > refusalMaxAge, nil
			})
			return net.duplicate(t, 2, byTimeHeight)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.ev(t)
			var rpcErr *rpc.Error
			if err := net.broadcast(t, ev); !errors.As(err, &rpcErr) || rpcErr.Code != rpc.CodeInvalidParams || !strings.Contains(rpcErr.Data, tc.says) {
				t.Fatalf("broadcast_evidence: %v, want an invalid-params error saying %q", err, tc.says)
			}

			net.bad.bad.Store(&types.EvidenceList{ev})
			// The next height's proposal may be made already.
			from := net.height() + 2
			before := net.rejected(tc.reason, tc.pools...)
			var turn int64 // a height at which node4 proposed in round 0
			waitFor(t, "node4's proposal to be refused", 2*time.Minute, func() (bool, error) {
				now := net.rejected(tc.reason, tc.pools...)
				for j := range now {
					if now[j] <= before[j] {
						return false, fmt.Errorf("pools of nodes %v: %q refusals %v, before %v", tc.pools, tc.reason, now, before)
					}
				}
				turn = net.proposerTurn(t, from, net.height())
				return turn > 0, fmt.Errorf("node4 has not been the proposer of a round 0 since height %d", from)
			})
			net.bad.bad.Store(nil)
			waitHeight(t, c1, net.height()+3, time.Minute)
			b, err := net.nodes[1].store.LoadBlock(turn)
			if err != nil {
				t.Fatal(err)
			}
			if b.Header.ProposerAddress == net.nodes[4].signer.Address() {
				t.Fatalf("node4's block %d was committed", turn)
			}
			if got := net.evidenceBlocks(t, from, net.height()); len(got) != 0 {
				t.Fatalf("blocks with evidence committed at heights %v", got)
			}
		})
	}

	// Node1's metrics: the one committed evidence, none pending, and the
	// refusals by reason (each case once from broadcast_evidence, at least
	// once from a proposal; same block ID twice never reaches its pool).
	got := evidenceSeries(t, net.nodes[1])
	for series, atLeast := range map[string]float64{
		"bftnode_evidence_committed_total":                            1,
		`bftnode_evidence_rejected_total{reason="bad_signature"}`:     2,
		`bftnode_evidence_rejected_total{reason="unknown_validator"}`: 2,
		`bftnode_evidence_rejected_total{reason="future_height"}`:     2,
		`bftnode_evidence_rejected_total{reason="committed"}`:         2,
		`bftnode_evidence_rejected_total{reason="expired"}`:           4,
	} {
		if got[series] < atLeast {
			t.Errorf("%s = %v, want at least %v", series, got[series], atLeast)
		}
	}
	if got["bftnode_evidence_pending"] != 0 || got["bftnode_evidence_committed_total"] != 1 {
		t.Errorf("pending %v, committed %v; want 0 and 1", got["bftnode_evidence_pending"], got["bftnode_evidence_committed_total"])
	}
}

// evidenceSeries returns n's bftnode_evidence_* series by name and labels.
func evidenceSeries(t *testing.T, n *Node) map[string]float64 {
	t.Helper()
	mfs, err := n.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "bftnode_evidence_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += fmt.Sprintf("{%s=%q}", l.GetName(), l.GetValue())
			}
			out[name] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out
}
