package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// voteKey names one precommit slot of one validator.
type voteKey struct {
	height int64
	round  int32
	val    string
}

// seenVote is the first precommit seen in a slot.
type seenVote struct {
	blockID string // "nil" for a nil precommit
	sig     string
	where   string
}

// voteBook collects the precommits of every commit seen and reports a
// validator that precommitted two different block IDs (or nil and a block)
// in one (height, round), or one block ID with two signatures.
type voteBook struct {
	mu         sync.Mutex
	votes      map[voteKey]seenVote
	commits    int
	violations []signViolation
}

// signViolation is a double signing found by a book. val is the
// validator's address, or "" for a proposal (whose signer a log record
// does not name).
type signViolation struct {
	val, msg string
}

func newVoteBook() *voteBook { return &voteBook{votes: map[voteKey]seenVote{}} }

func (b *voteBook) add(c *commitJSON, where string) {
	h, err := strconv.ParseInt(c.Height, 10, 64)
	if err != nil || h == 0 {
		return // the first block's empty last commit
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.commits++
	id := fmt.Sprintf("%s/%d/%s", c.BlockID.Hash, c.BlockID.Parts.Total, c.BlockID.Parts.Hash)
	for _, s := range c.Signatures {
		var v seenVote
		switch s.BlockIDFlag {
		case flagCommit:
			v.blockID = id
		case flagNil:
			v.blockID = "nil"
		default:
			continue
		}
		v.sig, v.where = hex.EncodeToString(s.Signature), where
		k := voteKey{h, c.Round, s.ValidatorAddress}
		old, ok := b.votes[k]
		switch {
		case !ok:
			b.votes[k] = v
		case old.blockID != v.blockID:
			b.violations = append(b.violations, signViolation{k.val, fmt.Sprintf(
				"double sign: validator %s precommitted %s (%s) and %s (%s) at height %d round %d",
				k.val, old.blockID, old.where, v.blockID, v.where, h, c.Round)})
		case old.sig != v.sig:
			b.violations = append(b.violations, signViolation{k.val, fmt.Sprintf(
				"signed twice: validator %s has two signatures for its precommit of %s at height %d round %d (%s, %s)",
				k.val, v.blockID, h, c.Round, old.where, v.where)})
		}
	}
}

// sampleCommits adds every node's latest ("seen") commit to the book every
// interval until ctx ends: those hold precommits that blocks may not.
func sampleCommits(ctx context.Context, n *network, b *voteBook, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, p := range n.procs {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			c, err := latestCommit(cctx, p.client)
			cancel()
			if err == nil {
				b.add(c, p.name+" seen commit")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// outcome counts what a scenario did and found.
type outcome struct {
	faults        int // faults applied
	height        int64
	blocks        int // (node, height) blocks compared
	committedTxs  int // txs the RPC reported committed, all checked
	lookups       int // tx and abci_query calls made for them
	acceptedTxs   int // txs broadcast_tx_sync accepted
	acceptedFound int // … of which are in a block
	txsInBlocks   int
	commits       int // commits whose precommits were compared
	precommits    int // distinct (height, round, validator) precommits
	walVotes      int // vote records read from the WALs
	walProposals  int // proposal records read from the WALs
	walSlots      int // distinct signing slots they fill
	byzantine     int // double signings by the Byzantine validators, as expected
	failedCalls   int
	violations    []string
}

func (o *outcome) String() string {
	return fmt.Sprintf("faults applied %d, final height %d, blocks compared %d, txs in blocks %d, "+
		"committed txs checked %d (%d tx/abci_query lookups), sync txs accepted %d (in blocks %d), "+
		"commits compared %d, precommits %d, WAL votes %d and proposals %d in %d signing slots, "+
		"double signings by Byzantine validators %d, failed RPC calls %d, violations %d",
		o.faults, o.height, o.blocks, o.txsInBlocks, o.committedTxs, o.lookups, o.acceptedTxs, o.acceptedFound,
		o.commits, o.precommits, o.walVotes, o.walProposals, o.walSlots, o.byzantine, o.failedCalls, len(o.violations))
}

func (o *outcome) violate(format string, a ...any) {
	o.violations = append(o.violations, fmt.Sprintf(format, a...))
}

// maxHeight is the highest latest height any running node reports.
func maxHeight(ctx context.Context, n *network) int64 {
	var top int64
	for _, p := range n.procs {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		h, err := status(cctx, p.client)
		cancel()
		if err == nil && h > top {
			top = h
		}
	}
	return top
}

// waitAll polls until every node reports a height of at least target;
// it returns the laggards' names at the deadline.
func waitAll(ctx context.Context, n *network, target int64, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var behind []string
		for _, p := range n.procs {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			h, err := status(cctx, p.client)
			cancel()
			if err != nil || h < target {
				behind = append(behind, fmt.Sprintf("%s at %d (err %v)", p.name, h, err))
			}
		}
		if len(behind) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return behind
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// verify checks the network after the faults: liveness within bound,
// identical blocks and app hashes, committed txs durable and queryable, no
// tx twice, no conflicting precommits.
func verify(ctx context.Context, n *network, l *load, book *voteBook, bound time.Duration, o *outcome) {
	target := maxHeight(ctx, n) + 2
	if behind := waitAll(ctx, n, target, bound); len(behind) > 0 {
		o.violate("liveness: within %v after the faults ended, not every node reached height %d: %s", bound, target, strings.Join(behind, "; "))
		return
	}
	o.height = target

	// Agreement, and the txs of the reference chain (node0's).
	ref := make([]*blockJSON, target+1)
	txAt := map[string][]int64{} // tx → heights holding it
	for _, p := range n.procs {
		for h := int64(1); h <= target; h++ {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			b, err := getBlock(cctx, p.client, h)
			cancel()
			if err != nil {
				o.violate("%s: block %d: %v", p.name, h, err)
				return
			}
			o.blocks++
			book.add(&b.Block.LastCommit, fmt.Sprintf("%s block %d", p.name, h))
			if ref[h] == nil {
				ref[h] = b
				for _, tx := range b.Block.Data.Txs {
					txAt[string(tx)] = append(txAt[string(tx)], h)
					o.txsInBlocks++
				}
				continue
			}
			if b.BlockID != ref[h].BlockID || b.Block.Header.AppHash != ref[h].Block.Header.AppHash {
				o.violate("agreement: height %d: %s has block %s app hash %s, %s has block %s app hash %s",
					h, n.procs[0].name, ref[h].BlockID.Hash, ref[h].Block.Header.AppHash, p.name, b.BlockID.Hash, b.Block.Header.AppHash)
			}
		}
	}
	checkChain(ref, len(n.validators()), o)
	checkFutureTime(n, ref, o)
	accused := checkEvidence(n, ref, o)
	checkPunished(ctx, n, ref, accused, o)
	for tx, hs := range txAt {
		if len(hs) > 1 {
			o.violate("tx %q committed %d times, at heights %v", tx, len(hs), hs)
		}
	}

	committed, accepted, failed := l.snapshot()
	o.failedCalls = failed
	o.acceptedTxs = len(accepted)
	for _, tx := range accepted {
		if len(txAt[tx.key+"="+tx.value]) > 0 {
			o.acceptedFound++
		}
	}
	// Every committed tx is in its block; `tx` and abci_query find it on
	// every node (on one node, in turn, when there are many).
	allNodes := len(committed) <= 500
	for i, tx := range committed {
		o.committedTxs++
		if hs := txAt[tx.key+"="+tx.value]; len(hs) == 0 || hs[0] != tx.height {
			o.violate("durability: tx %s=%s reported committed at height %d by %s is in blocks at heights %v", tx.key, tx.value, tx.height, tx.node, hs)
			continue
		}
		for j, p := range n.procs {
			if !allNodes && j != i%len(n.procs) {
				continue
			}
			o.lookups += 2
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			got, err := getTx(cctx, p.client, tx.hash)
			if err != nil || got.Height != strconv.FormatInt(tx.height, 10) || sha256.Sum256(got.Tx) != sha256.Sum256([]byte(tx.key+"="+tx.value)) {
				o.violate("durability: %s: tx %s (%s, committed at %d): got %+v, err %v", p.name, tx.hash, tx.key, tx.height, got, err)
			}
			v, err := queryKey(cctx, p.client, tx.key)
			cancel()
			if err != nil || v != tx.value {
				o.violate("durability: %s: abci_query %q = %q (err %v), want %q", p.name, tx.key, v, err, tx.value)
			}
		}
	}

	book.mu.Lock()
	o.commits, o.precommits = book.commits, len(book.votes)
	book.mu.Unlock()
}

// checkChain checks that the reference chain is well formed: each block
// names the previous one, carries a commit of it signed by more than two
// thirds of the validators (all of equal power), and has a later time.
func checkChain(ref []*blockJSON, validators int, o *outcome) {
	for h := 2; h < len(ref); h++ {
		prev, b := ref[h-1], ref[h]
		lc := b.Block.LastCommit
		signers := 0
		for _, s := range lc.Signatures {
			if s.BlockIDFlag == flagCommit {
				signers++
			}
		}
		switch {
		case b.Block.Header.LastBlockID != prev.BlockID:
			o.violate("chain: block %d names last block %s, but block %d is %s", h, b.Block.Header.LastBlockID.Hash, h-1, prev.BlockID.Hash)
		case lc.BlockID != prev.BlockID || lc.Height != strconv.Itoa(h-1):
			o.violate("chain: block %d carries a commit of %s at height %s, want %s at %d", h, lc.BlockID.Hash, lc.Height, prev.BlockID.Hash, h-1)
		case 3*signers <= 2*validators:
			o.violate("chain: the commit of block %d in block %d has %d of %d signatures, not more than two thirds", h-1, h, signers, validators)
		case !b.Block.Header.Time.After(prev.Block.Header.Time):
			o.violate("chain: block %d time %v is not after block %d time %v", h, b.Block.Header.Time, h-1, prev.Block.Header.Time)
		case !b.Block.Header.Time.Equal(medianTime(lc)):
			o.violate("bft time: block %d is dated %v, the median of its last commit is %v", h, b.Block.Header.Time, medianTime(lc))
		}
	}
}

// medianTime is BFT time for validators of equal power (testnet gives each
// power 10): sort the commit's timestamps of votes for the block, then walk
// them, counting power, to the first at which half the committed power,
// rounded down, is reached (CometBFT's weighted median, written here from its
// definition so as not to trust bftnode's).
func medianTime(c commitJSON) time.Time {
	const power = 10
	var ts []time.Time
	for _, s := range c.Signatures {
		if s.BlockIDFlag == flagCommit {
			ts = append(ts, s.Timestamp)
		}
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	left := int64(len(ts)) * power / 2
	for _, t := range ts {
		if left <= power {
			return t
		}
		left -= power
	}
	return time.Time{}
}

// checkFutureTime checks what a futuretime validator (proposals dated an
// hour ahead) must not achieve: no committed block is its proposal, and no
// block is dated more than block_time_tolerance (1 minute) past now.
func checkFutureTime(n *network, ref []*blockJSON, o *outcome) {
	liars := map[string]string{}
	for _, p := range n.procs {
		if p.byzantine == "futuretime" {
			liars[strings.ToUpper(p.address)] = p.name
		}
	}
	limit := time.Now().Add(time.Minute)
	for h := 1; h < len(ref); h++ {
		hd := ref[h].Block.Header
		if name, ok := liars[strings.ToUpper(hd.Proposer)]; ok {
			o.violate("futuretime: block %d, dated %v, was proposed by %s, which dates its proposals an hour ahead", h, hd.Time, name)
		}
		if hd.Time.After(limit) {
			o.violate("futuretime: block %d is dated %v, more than a minute ahead of now", h, hd.Time)
		}
	}
}

// judgeSigning sorts the double signings the books found: those of a
// Byzantine validator are expected (and counted), any other is a
// violation. A conflicting proposal is blamed on the Byzantine proposers
// when there are equivocators, since its record does not name the signer.
// An equivocating or double-voting validator that no check caught is a
// violation too: the checks would have missed it.
func judgeSigning(n *network, found []signViolation, o *outcome, t interface{ Logf(string, ...any) }) {
	byz := map[string]string{}
	equivocators := false
	for _, p := range n.procs {
		if p.byzantine != "" {
			byz[p.address] = p.byzantine
			// Both sign a second proposal in the rounds they propose.
			equivocators = equivocators || p.byzantine == "equivocate" || p.byzantine == "futuretime"
		}
	}
	caught := map[string]int{}
	for _, v := range found {
		if _, ok := byz[v.val]; ok || (v.val == "" && equivocators) {
			if o.byzantine < 3 {
				t.Logf("e2e: caught, as expected: %s", v.msg)
			}
			o.byzantine++
			caught[v.val]++
			continue
		}
		o.violate("%s", v.msg)
	}
	for addr, mode := range byz {
		if (mode == "equivocate" || mode == "doublevote") && caught[addr] == 0 {
			o.violate("the %s validator %s signed conflicting messages, but no check saw them", mode, addr)
		}
	}
}
