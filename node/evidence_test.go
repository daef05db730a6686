package node

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/types"
)

// evidenceIn returns the heights of n's stored blocks (1..top) that hold
// evidence, and the evidence by height.
func evidenceIn(t *testing.T, n *Node, top int64) map[int64]types.EvidenceList {
	t.Helper()
	out := map[int64]types.EvidenceList{}
	for h := int64(1); h <= top; h++ {
		b, err := n.store.LoadBlock(h)
		if err != nil {
			t.Fatalf("%s: block %d: %v", n.cfg.Moniker, h, err)
		}
		if len(b.Evidence) > 0 {
			out[h] = b.Evidence
		}
	}
	return out
}

// misbehaviorEvents returns the "misbehavior" events of the FinalizeBlock
// response at h, as validator → actions, in order.
func misbehaviorEvents(ctx context.Context, t *testing.T, n *Node, h int64) map[string][]string {
	t.Helper()
	var res struct {
		Events []struct {
			Type       string `json:"type"`
			Attributes []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"attributes"`
		} `json:"finalize_block_events"`
	}
	if err := client(t, n.cfg).Call(ctx, "block_results", map[string]any{"height": strconv.FormatInt(h, 10)}, &res); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, ev := range res.Events {
		if ev.Type != "misbehavior" {
			continue
		}
		attrs := map[string]string{}
		for _, a := range ev.Attributes {
			attrs[a.Key] = a.Value
		}
		out[attrs["validator"]] = append(out[attrs["validator"]], attrs["action"])
	}
	return out
}

// TestEquivocationPunished: a validator that proposes two blocks in a round
// and votes for both (equivocate) is caught: a block within a few heights
// carries DuplicateVoteEvidence against it (and nothing else), verified
// against the validator set of its height; every node's application is told
// of it in FinalizeBlock (kvstore's misbehavior event); kvstore removes the
// validator, which leaves the validator set; the 3 others keep committing
// the same chain, and no evidence is committed twice.
func TestEquivocationPunished(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	fast(cfgs)
	nodes := make([]*Node, 4)
	for i, cfg := range cfgs[:3] {
		nodes[i] = startWith(t, cfg)
	}
	nodes[3] = startWith(t, cfgs[3], withByzantine(t, cfgs[3], byzantine.Equivocate, nil))
	byz := nodes[3].signer.Address()
	byzHex := fmt.Sprintf("%X", byz[:])
	ctx := context.Background()

	var evHeight int64
	waitFor(t, "a block with evidence", 60*time.Second, func() (bool, error) {
		for h := range evidenceIn(t, nodes[0], nodes[0].store.Height()) {
			if evHeight == 0 || h < evHeight {
				evHeight = h
			}
		}
		return evHeight > 0, nil
	})
	if evHeight > 15 {
		t.Errorf("the first evidence came in block %d; want it within a few heights of the start", evHeight)
	}
	top := evHeight + 5
	correct := cfgs[:3]
	for _, cfg := range correct {
		waitHeight(t, client(t, cfg), top, 60*time.Second)
	}
	sameChain(t, correct, top)

	seen := map[types.Hash]int64{}
	for h, list := range evidenceIn(t, nodes[0], top) {
		for _, ev := range list {
			dv, ok := ev.(*types.DuplicateVoteEvidence)
			if !ok {
				t.Fatalf("block %d holds %T, want DuplicateVoteEvidence", h, ev)
			}
			if dv.VoteA.ValidatorAddress != byz {
				t.Fatalf("block %d holds evidence against %X, want only the Byzantine %s", h, dv.VoteA.ValidatorAddress, byzHex)
			}
			evVals, err := nodes[0].store.LoadValidators(dv.Height())
			if err != nil {
				t.Fatal(err)
			}
			if err := dv.Verify(nodes[0].genesis.ChainID, evVals); err != nil {
				t.Fatalf("block %d: evidence does not verify: %v", h, err)
			}
			if prev, dup := seen[ev.Hash()]; dup {
				t.Fatalf("evidence %s committed at heights %d and %d", ev, prev, h)
			}
			seen[ev.Hash()] = h
		}
	}
	for i, n := range nodes[:3] {
		// The block may hold several pieces of evidence against it (a
		// prevote and a precommit equivocation): the first removes it.
		got := misbehaviorEvents(ctx, t, n, evHeight)
		actions := got[strings.ToLower(byzHex)]
		if len(got) != 1 || len(actions) != len(evidenceIn(t, n, evHeight)[evHeight]) || actions[0] != "removed" {
			t.Fatalf("node%d: misbehavior events at height %d = %v, want one per evidence, all against %s, the first removing it", i, evHeight, got, byzHex)
		}
	}
	waitFor(t, "the Byzantine validator to leave the set", 30*time.Second, func() (bool, error) {
		addrs, err := validatorAddrs(ctx, client(t, cfgs[0]))
		return err == nil && len(addrs) == 3 && !addrs[byzHex], err
	})
	for _, cfg := range correct {
		waitHeight(t, client(t, cfg), top+3, 60*time.Second)
	}
}

// TestPendingEvidenceSurvivesRestart: evidence added to a stopped node's
// pool (two prevotes its validator signed at height 1) is still pending
// when the node starts again, and is committed in exactly one block.
func TestPendingEvidenceSurvivesRestart(t *testing.T) {
	cfg := testnet(t, 1, 0)[0]
	fast([]config.Config{cfg})
	_, stop := startNode(t, cfg)
	waitHeight(t, client(t, cfg), 2, 30*time.Second)
	stop()

	priv, err := byzantine.ReadKey(cfg.PrivValidatorKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := nodeDuplicate(t, n, priv, 1)
	if err := n.evidence.Add(ev); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = startWith(t, cfg)
	var at int64
	waitFor(t, "the evidence in a block", 30*time.Second, func() (bool, error) {
		for h, list := range evidenceIn(t, n, n.store.Height()) {
			if len(list) != 1 || list[0].Hash() != ev.Hash() {
				return false, fmt.Errorf("block %d holds %v, want only the added evidence", h, list)
			}
			at = h
		}
		return at > 0, nil
	})
	waitHeight(t, client(t, cfg), at+3, 30*time.Second)
	if got := evidenceIn(t, n, at+3); len(got) != 1 {
		t.Fatalf("the evidence is in blocks at %d heights, want one", len(got))
	}
}

// TestEvidenceGossipReachesEveryPool: evidence added to node0's pool
// reaches every other node's pool by evidence gossip alone (here no
// proposer puts pending evidence in its blocks).
func TestEvidenceGossipReachesEveryPool(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	fast(cfgs)
	nodes := make([]*Node, len(cfgs))
	for i, cfg := range cfgs {
		hide := &badProposer{}
		hide.bad.Store(&types.EvidenceList{})
		nodes[i] = startWith(t, cfg, hide.option())
	}
	waitHeight(t, client(t, cfgs[0]), 2, time.Minute)
	priv, err := byzantine.ReadKey(cfgs[3].PrivValidatorKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].evidence.Add(nodeDuplicate(t, nodes[0], priv, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the evidence in every pool", time.Minute, func() (bool, error) {
		for i, n := range nodes {
			if got := n.evidence.Metrics().Pending; got != 1 {
				return false, fmt.Errorf("node%d has %d pending", i, got)
			}
		}
		return true, nil
	})
}
