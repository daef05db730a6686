package node

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/internal/byzantine"
	"github.com/bftnode/bftnode/types"
)

// withByzantine makes the node of cfg misbehave in mode, through the
// decorators of package internal/byzantine, which log to logger (nil
// discards).
func withByzantine(t *testing.T, cfg config.Config, mode byzantine.Mode, logger *slog.Logger) Option {
	t.Helper()
	key, err := byzantine.ReadKey(cfg.PrivValidatorKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	g, err := config.LoadGenesis(cfg.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	return WithEngineDeps(byzantine.Decorate(mode, key, g.ChainID, logger))
}

// startWith is startNode with options, stopped when the test ends.
func startWith(t *testing.T, cfg config.Config, opts ...Option) *Node {
	t.Helper()
	n, _ := startNode(t, cfg, opts...)
	return n
}

// TestEngineDepsErrorFailsNew: a decorator's error fails New, and the
// node opened so far is closed again (a second New on the home works).
func TestEngineDepsErrorFailsNew(t *testing.T) {
	cfg := testnet(t, 1, 0)[0]
	ctx := context.Background()
	if _, err := New(ctx, cfg, nil, withByzantine(t, cfg, "forge", nil)); !errors.Is(err, byzantine.ErrMode) {
		t.Fatalf("unknown mode: got %v, want ErrMode", err)
	}
	n, err := New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestByzantineDoubleVote(t *testing.T) { runByzantine(t, byzantine.DoubleVote, true) }

func TestByzantineEquivocate(t *testing.T) { runByzantine(t, byzantine.Equivocate, true) }

func TestByzantineAmnesia(t *testing.T) { runByzantine(t, byzantine.Amnesia, false) }

// runByzantine runs 4 validators, node3 in mode: the 3 correct nodes keep
// committing identical blocks and app hashes; when wantEvidence, each of
// them records valid equivocation evidence against node3 (and only node3)
// and counts it in bftnode_consensus_evidence_total; otherwise none is
// recorded and node3 holds the same chain too.
func runByzantine(t *testing.T, mode byzantine.Mode, wantEvidence bool) {
	cfgs := testnet(t, 4, 0)
	fast(cfgs)
	nodes := make([]*Node, 4)
	for i, cfg := range cfgs[:3] {
		nodes[i] = startWith(t, cfg)
	}
	nodes[3] = startWith(t, cfgs[3], withByzantine(t, cfgs[3], mode, nil))
	byz := nodes[3].signer.Address()
	correct := nodes[:3]

	if wantEvidence {
		waitFor(t, "evidence against the Byzantine validator at every correct node", 15*time.Second, func() (bool, error) {
			for _, n := range correct {
				if len(n.Evidence()) == 0 {
					return false, nil
				}
			}
			return true, nil
		})
	}
	ctx := context.Background()
	top, err := height(ctx, client(t, cfgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	top = max(top+3, 6)
	agree := cfgs[:3]
	if !wantEvidence {
		agree = cfgs // a node that only forgets its locks signs nothing wrong: it follows the same chain
	}
	for _, cfg := range agree {
		waitHeight(t, client(t, cfg), top, 15*time.Second)
	}
	sameChain(t, agree, top)

	vals, err := nodes[0].genesis.ValidatorSet()
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range correct {
		evs := n.Evidence()
		if !wantEvidence {
			if len(evs) != 0 {
				t.Fatalf("node%d recorded evidence, though %s never signs twice: %+v", i, mode, evs[0].VoteA)
			}
			continue
		}
		if len(evs) == 0 {
			t.Fatalf("node%d recorded no evidence", i)
		}
		for _, ev := range evs {
			checkEvidence(t, vals, ev, byz)
		}
		// The node is still running, so evidence may be recorded between
		// the reads: the counter lies between the list's sizes around it.
		got := evidenceMetric(t, n)
		if after := len(n.Evidence()); got < float64(len(evs)) || got > float64(after) {
			t.Fatalf("node%d: bftnode_consensus_evidence_total = %v, evidence list had %d before and %d after", i, got, len(evs), after)
		}
	}
}

// checkEvidence: two validly signed votes by byz for one height, round and
// type, for different blocks.
func checkEvidence(t *testing.T, vals *types.ValidatorSet, ev types.DuplicateVoteEvidence, byz types.Address) {
	t.Helper()
	a, b := ev.VoteA, ev.VoteB
	if a.ValidatorAddress != byz || b.ValidatorAddress != byz {
		t.Fatalf("evidence against %X / %X, want the Byzantine %X", a.ValidatorAddress, b.ValidatorAddress, byz)
	}
	if a.Height != b.Height || a.Round != b.Round || a.Type != b.Type || a.BlockID == b.BlockID {
		t.Fatalf("not an equivocation: %+v vs %+v", a, b)
	}
	for _, v := range []*types.Vote{a, b} {
		if err := types.VerifyVote("node-test", vals, v); err != nil {
			t.Fatalf("evidence vote does not verify: %v", err)
		}
	}
}

func evidenceMetric(t *testing.T, n *Node) float64 {
	t.Helper()
	mfs, err := n.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "bftnode_consensus_evidence_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("bftnode_consensus_evidence_total is not registered")
	return 0
}

// sameChain checks that the nodes of cfgs hold the same block hash and
// app hash at every height up to top.
func sameChain(t *testing.T, cfgs []config.Config, top int64) {
	t.Helper()
	ctx := context.Background()
	for h := int64(1); h <= top; h++ {
		var want blockResult
		for i, cfg := range cfgs {
			var got blockResult
			if err := client(t, cfg).Call(ctx, "block", map[string]any{"height": strconv.FormatInt(h, 10)}, &got); err != nil {
				t.Fatalf("node%d block %d: %v", i, h, err)
			}
			if got.BlockID.Hash == "" {
				t.Fatalf("node%d block %d: empty hash", i, h)
			}
			if i == 0 {
				want = got
			} else if got != want {
				t.Fatalf("height %d: node0 has %+v, node%d has %+v", h, want, i, got)
			}
		}
	}
	t.Logf("%d nodes agree on heights 1..%d", len(cfgs), top)
}
