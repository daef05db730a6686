package engine_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/types"
)

// voteLog records every vote broadcast on the network and the conflicts
// among them: two votes of one validator for one height, round and type
// with different block IDs.
type voteLog struct {
	mu        sync.Mutex
	votes     map[voteKey]types.BlockID
	conflicts []string
}

type voteKey struct {
	addr   types.Address
	height int64
	round  int32
	typ    types.SignedMsgType
}

func (l *voteLog) observe(from string, msg any) {
	m, ok := msg.(engine.VoteMsg)
	if !ok {
		return
	}
	v := m.Vote
	k := voteKey{v.ValidatorAddress, v.Height, v.Round, v.Type}
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.votes[k]; ok && prev != v.BlockID {
		l.conflicts = append(l.conflicts, fmt.Sprintf("%s signed %s at height %d round %d for %v and %v", from, v.Type, v.Height, v.Round, prev, v.BlockID))
	}
	l.votes[k] = v.BlockID
}

// tearWALTail cuts up to max bytes off the end of a stopped node's WAL, as
// a crash that lost unsynced (or torn) writes would.
func tearWALTail(t *testing.T, dir string, rng *rand.Rand, max int64) int64 {
	t.Helper()
	path := filepath.Join(dir, "wal", wal.FileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := min(rng.Int64N(max)+1, fi.Size()-wal.HeaderSize-8)
	if cut <= 0 {
		return 0
	}
	if err := os.Truncate(path, fi.Size()-cut); err != nil {
		t.Fatal(err)
	}
	return cut
}

// One validator of four is crashed at random moments, under load, at least
// 50 times (BFTNODE_LONG=1: 300). After each restart it replays its WAL and
// rejoins; no validator ever signs two conflicting votes, no committed
// block is lost, and every tx submitted to the other nodes is committed
// everywhere.
func TestCrashRestartUnderLoad(t *testing.T) {
	simTest(t, func(t *testing.T) {
		crashes := 50
		if os.Getenv("BFTNODE_LONG") != "" {
			crashes = 300
		}
		c := newCluster(t, 4, 2)
		votes := &voteLog{votes: map[voteKey]types.BlockID{}}
		c.net.Observe(votes.observe)
		c.startAll()
		victim := c.nodes[3]
		rng := rand.New(rand.NewPCG(42, 7))

		var txs [][]byte
		torn, hard := 0, 0
		for i := range crashes {
			for j := range 10 {
				tx := fmt.Appendf(nil, "c%03d-%d=%d", i, j, rng.IntN(1000))
				txs = append(txs, tx)
				if err := c.nodes[j%3].submit(tx); err != nil {
					t.Fatal(err)
				}
			}
			// Crash after a random number of the victim's events: between
			// two, or in the middle of one.
			steps := int64(rng.IntN(40) + 1)
			var before int64
			if rng.IntN(2) == 0 {
				hard++
				before = c.crashHard(victim, steps)
			} else {
				target := victim.eventCount() + steps
				await(t, 30*time.Second, "victim events", func() bool { return victim.eventCount() >= target })
				before = victim.height()
				c.stop(victim)
			}
			if rng.IntN(3) == 0 {
				if tearWALTail(t, victim.dir, rng, 4096) > 0 {
					torn++
				}
			}
			c.start(victim)
			if h := victim.height(); h < before {
				t.Fatalf("crash %d: the store went back from height %d to %d", i, before, h)
			}
			await(t, 30*time.Second, fmt.Sprintf("victim to commit past %d after crash %d", before, i), func() bool {
				return victim.height() > before
			})
		}
		await(t, 60*time.Second, "every tx committed on every node", c.haveTxs(txs))
		h := c.checkSameChain()
		votes.mu.Lock()
		defer votes.mu.Unlock()
		if len(votes.conflicts) > 0 {
			t.Fatalf("%d conflicting votes, first: %s", len(votes.conflicts), votes.conflicts[0])
		}
		t.Logf("%d crashes (%d hard, %d with a torn WAL tail), %d heights, %d votes observed, %d messages dropped", crashes, hard, torn, h, len(votes.votes), c.net.Dropped())
	})
}
