package node

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bftnode/bftnode/config"
	"github.com/bftnode/bftnode/internal/byzantine"
)

// logBuffer collects a node's log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// timedBlock is what the test reads of a block over RPC: its time and
// proposer, and its last commit's precommits.
type timedBlock struct {
	Block struct {
		Header struct {
			Time            time.Time `json:"time"`
			ProposerAddress string    `json:"proposer_address"`
		} `json:"header"`
		LastCommit struct {
			Round      int32 `json:"round"`
			Signatures []struct {
				BlockIDFlag      int       `json:"block_id_flag"`
				ValidatorAddress string    `json:"validator_address"`
				Timestamp        time.Time `json:"timestamp"`
			} `json:"signatures"`
		} `json:"last_commit"`
	} `json:"block"`
}

// weightedMedian is BFT time worked out apart from the node's code, from
// the RPC's view of a block: each precommit for the block (flag 2) counts
// as many times as its validator has power; of the sorted copies, the one
// at which their count reaches half the total (rounded down) is the time,
// as CometBFT's spec and WeightedMedian define it.
func weightedMedian(t *testing.T, b timedBlock, power map[string]int64) time.Time {
	t.Helper()
	var copies []time.Time
	for _, s := range b.Block.LastCommit.Signatures {
		if s.BlockIDFlag != 2 {
			continue
		}
		p, ok := power[s.ValidatorAddress]
		if !ok {
			t.Fatalf("precommit by %s, not a validator", s.ValidatorAddress)
		}
		for range p {
			copies = append(copies, s.Timestamp)
		}
	}
	slices.SortFunc(copies, time.Time.Compare)
	return copies[max(len(copies)/2-1, 0)]
}

// TestByzantineFutureTime runs 4 validators over libp2p, node3 in the
// futuretime test mode: it proposes its blocks dated an hour ahead. The
// correct validators refuse every one of them (their logs say why) and go
// on in later rounds; no committed block is node3's or dated in the
// future, the first is dated at genesis and every later one at the
// weighted median of its last commit's timestamps, computed here from the
// RPC's block and validators.
func TestByzantineFutureTime(t *testing.T) {
	cfgs := testnet(t, 4, 0)
	fast(cfgs)
	logs := make([]*logBuffer, 4)
	for i, cfg := range cfgs {
		logs[i] = &logBuffer{}
		var opts []Option
		if i == 3 {
			opts = append(opts, withByzantine(t, cfg, byzantine.FutureTime, logs[i].logger()))
		}
		startLogged(t, cfg, logs[i].logger(), opts...)
	}
	const top = 9 // node3's turn as round-0 proposer comes every 4 heights
	for _, cfg := range cfgs[:3] {
		waitHeight(t, client(t, cfg), top, 60*time.Second)
	}
	sameChain(t, cfgs[:3], top)

	ctx := context.Background()
	c := client(t, cfgs[0])
	var vals struct {
		Validators []struct {
			Address     string `json:"address"`
			VotingPower string `json:"voting_power"`
		} `json:"validators"`
	}
	if err := c.Call(ctx, "validators", map[string]any{"height": "1"}, &vals); err != nil {
		t.Fatal(err)
	}
	power := map[string]int64{}
	for _, v := range vals.Validators {
		p, err := strconv.ParseInt(v.VotingPower, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		power[v.Address] = p
	}
	g, err := config.LoadGenesis(cfgs[0].GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		ValidatorInfo struct {
			Address string `json:"address"`
		} `json:"validator_info"`
	}
	if err := client(t, cfgs[3]).Call(ctx, "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	byz := st.ValidatorInfo.Address

	limit := time.Now().Add(3 * time.Second)
	laterRounds := 0
	var prev time.Time
	for h := int64(1); h <= top; h++ {
		var b timedBlock
		if err := c.Call(ctx, "block", map[string]any{"height": strconv.FormatInt(h, 10)}, &b); err != nil {
			t.Fatal(err)
		}
		hd := b.Block.Header
		switch {
		case hd.ProposerAddress == byz:
			t.Fatalf("block %d, proposed by the futuretime validator, was committed", h)
		case hd.Time.After(limit):
			t.Fatalf("block %d is dated %v, in the future (now %v)", h, hd.Time, time.Now())
		case h == 1 && !hd.Time.Equal(g.GenesisTime):
			t.Fatalf("block 1 is dated %v, want the genesis time %v", hd.Time, g.GenesisTime)
		case h > 1 && !hd.Time.Equal(weightedMedian(t, b, power)):
			t.Fatalf("block %d is dated %v, want the weighted median %v of its last commit", h, hd.Time, weightedMedian(t, b, power))
		case h > 1 && !hd.Time.After(prev):
			t.Fatalf("block %d is dated %v, not after block %d's %v", h, hd.Time, h-1, prev)
		}
		if h > 1 && b.Block.LastCommit.Round > 0 {
			laterRounds++
		}
		prev = hd.Time
	}
	if laterRounds < 2 {
		t.Fatalf("%d of heights 1..%d were decided after round 0, want at least node3's 2 turns", laterRounds, top-1)
	}
	if !strings.Contains(logs[3].String(), "proposing a block dated in the future") {
		t.Fatalf("node3 never proposed a future-dated block:\n%s", logs[3].String())
	}
	for i, l := range logs[:3] {
		if n := strings.Count(l.String(), "wrong block time"); n < 2 {
			t.Fatalf("node%d refused %d blocks for their time, want node3's (at least 2):\n%s", i, n, l.String())
		}
	}
}
