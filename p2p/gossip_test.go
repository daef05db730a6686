package p2p

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/msgs"
	"github.com/bftnode/bftnode/types"
)

// startMesh starts n nodes: the first alone, the others with only the
// first as bootstrap peer; pex must connect everyone to everyone. mod, if
// not nil, adjusts the config of node i.
func startMesh(t *testing.T, n int, mod func(i int, c *Config)) []*Transport {
	t.Helper()
	modFor := func(i int, bootstrap []string) func(*Config) {
		return func(c *Config) {
			c.BootstrapPeers = bootstrap
			if mod != nil {
				mod(i, c)
			}
		}
	}
	a := newTestNode(t, modFor(0, nil))
	nodes := []*Transport{a}
	for i := 1; i < n; i++ {
		nodes = append(nodes, newTestNode(t, modFor(i, []string{a.Addrs()[0]})))
	}
	waitFor(t, "full mesh via pex", func() bool {
		for _, tr := range nodes {
			if len(tr.Peers()) != n-1 {
				return false
			}
		}
		return true
	})
	return nodes
}

func TestFourNodesGossipExactlyOnce(t *testing.T) {
	nodes := startMesh(t, 4, nil)
	for _, tr := range nodes {
		tr.SetStatus(msgs.Status{Height: 1})
	}
	// Every node knows every peer's status before anything is broadcast.
	waitFor(t, "statuses", func() bool {
		for _, tr := range nodes {
			tr.gossip.mu.Lock()
			for _, ps := range tr.gossip.peers {
				if !ps.status.known || ps.status.height != 1 {
					tr.gossip.mu.Unlock()
					return false
				}
			}
			tr.gossip.mu.Unlock()
		}
		return true
	})

	// A block of ~300 KB: five parts of 64 KiB.
	var txs [][]byte
	for range 6 {
		tx := make([]byte, 50_000)
		_, _ = rand.Read(tx)
		txs = append(txs, tx)
	}
	block := makeBlock(1, txs, types.BlockID{}, nil)
	id, err := types.MakeBlockID(block)
	if err != nil {
		t.Fatal(err)
	}
	if id.PartSetHeader.Total < 4 {
		t.Fatalf("block has %d parts, want several", id.PartSetHeader.Total)
	}
	prop := &types.Proposal{Height: 1, POLRound: -1, BlockID: id, Timestamp: time.Unix(1_700_000_000, 0).UTC(), Signature: fakeSig("proposal")}
	nodes[0].Broadcast(msgs.ProposalMsg{Proposal: prop, Block: block})
	for i, tr := range nodes {
		for _, typ := range []types.SignedMsgType{types.PrevoteType, types.PrecommitType} {
			tr.Broadcast(msgs.VoteMsg{Vote: &types.Vote{
				Type: typ, Height: 1, BlockID: id, Timestamp: time.Unix(1_700_000_001, 0).UTC(),
				ValidatorAddress: testAddr(i), ValidatorIndex: int32(i), Signature: fakeSig(fmt.Sprint(typ, i)),
			}})
		}
	}

	for i, tr := range nodes {
		wantProposals := 1
		if i == 0 {
			wantProposals = 0
		}
		proposals, headers, votes := 0, 0, make(map[voteKey]int)
		for proposals < wantProposals || len(votes) < 6 {
			m := receive(t, tr)
			switch msg := m.Msg.(type) {
			case msgs.ProposalMsg:
				proposals++
				if msg.Block.Hash() != block.Hash() || len(msg.Block.Data.Txs) != len(txs) || !bytes.Equal(msg.Block.Data.Txs[5], txs[5]) {
					t.Fatalf("node %d: block arrived altered", i)
				}
				if msg.Proposal.BlockID != id || !bytes.Equal(msg.Proposal.Signature, prop.Signature) {
					t.Fatalf("node %d: proposal arrived altered", i)
				}
			case msgs.ProposalHeaderMsg:
				headers++
				if headers > 1 || msg.Proposal.BlockID != id {
					t.Fatalf("node %d: proposal header %d: %+v", i, headers, msg.Proposal)
				}
			case msgs.VoteMsg:
				k := voteKey{msg.Vote.Height, msg.Vote.Round, msg.Vote.Type, msg.Vote.ValidatorIndex}
				if int(k.index) == i {
					t.Fatalf("node %d got its own vote back", i)
				}
				votes[k]++
				if votes[k] > 1 {
					t.Fatalf("node %d: vote %+v delivered twice", i, k)
				}
			default:
				t.Fatalf("node %d: unexpected %T", i, m.Msg)
			}
			if proposals > wantProposals || (proposals > 0 && headers == 0) {
				t.Fatalf("node %d: proposal delivered twice or without its header first", i)
			}
		}
	}
	// Let gossip run several more rounds: nothing more may be delivered.
	waitTicks(t, 5, nodes...)
	for i, tr := range nodes {
		select {
		case m := <-tr.Inbound():
			t.Fatalf("node %d: extra delivery %T from %s", i, m.Msg, m.From)
		default:
		}
	}
	reportStats(t, nodes)
}

// reportStats logs bytes per message kind and duplicates over all nodes.
func reportStats(t *testing.T, nodes []*Transport) {
	t.Helper()
	var sum Stats
	for _, tr := range nodes {
		s := tr.Stats()
		sum.BytesSent += s.BytesSent
		sum.DuplicateVotes += s.DuplicateVotes
		sum.DuplicateParts += s.DuplicateParts
		sum.DuplicateProposals += s.DuplicateProposals
		sum.DroppedSends += s.DroppedSends
		for k := range NumKinds {
			sum.Sent[k].Frames += s.Sent[k].Frames
			sum.Sent[k].Bytes += s.Sent[k].Bytes
		}
	}
	for k := range NumKinds {
		if f := sum.Sent[k].Frames; f > 0 {
			t.Logf("sent %-10s frames=%4d bytes=%8d bytes/frame=%d", KindName(k), f, sum.Sent[k].Bytes, sum.Sent[k].Bytes/f)
		}
	}
	t.Logf("total sent %d bytes; duplicates received: votes=%d parts=%d proposals=%d; dropped sends=%d",
		sum.BytesSent, sum.DuplicateVotes, sum.DuplicateParts, sum.DuplicateProposals, sum.DroppedSends)
}
