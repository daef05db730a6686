package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sentTx is a transaction the RPC accepted.
type sentTx struct {
	key, value string
	hash       string // upper-case hex SHA-256
	height     int64  // reported by broadcast_tx_commit; 0 for broadcast_tx_sync
	node       string
}

// load sends unique key=value transactions to random nodes: commitWorkers
// loops of broadcast_tx_commit and one loop of broadcast_tx_sync every
// syncEvery. A call to a node that is down simply fails.
type load struct {
	net           *network
	tag           string
	commitWorkers int
	syncEvery     time.Duration

	mu        sync.Mutex
	committed []sentTx // the RPC reported them committed: they must stay
	accepted  []sentTx // CheckTx passed: they may be lost with a crashed node's mempool
	failed    int      // calls that returned an error (node down, timeout)
	reasons   map[string]int
	wg        sync.WaitGroup
	cancel    context.CancelFunc
}

// newLoad makes a load whose keys start with tag.
func newLoad(n *network, tag string) *load {
	return &load{net: n, tag: tag, commitWorkers: 2, syncEvery: 50 * time.Millisecond, reasons: map[string]int{}}
}

// start runs the load until stop.
func (l *load) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for w := range l.commitWorkers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.worker(ctx, fmt.Sprintf("c%d", w), true)
		}()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.worker(ctx, "s", false)
	}()
}

// stop ends the load and waits for the calls in flight.
func (l *load) stop() {
	if l.cancel != nil {
		l.cancel()
		l.wg.Wait()
	}
}

func (l *load) worker(ctx context.Context, name string, commit bool) {
	r := rand.New(rand.NewPCG(uint64(len(name)), uint64(time.Now().UnixNano())))
	for i := 0; ctx.Err() == nil; i++ {
		p := l.net.procs[r.IntN(len(l.net.procs))]
		key := fmt.Sprintf("%s-%s-%d", l.tag, name, i)
		tx := sentTx{key: key, value: "v" + strconv.Itoa(i), node: p.name}
		raw := []byte(tx.key + "=" + tx.value)
		sum := sha256.Sum256(raw)
		tx.hash = strings.ToUpper(hex.EncodeToString(sum[:]))
		if commit {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			var res broadcastCommitJSON
			err := p.client.Call(cctx, "broadcast_tx_commit", map[string]any{"tx": raw}, &res)
			cancel()
			l.recordCommit(ctx, tx, &res, err)
			if err != nil {
				l.pause(ctx, 100*time.Millisecond) // the node is down: do not spin
			}
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var res broadcastSyncJSON
		err := p.client.Call(cctx, "broadcast_tx_sync", map[string]any{"tx": raw}, &res)
		cancel()
		l.mu.Lock()
		if err == nil && res.Code == 0 {
			l.accepted = append(l.accepted, tx)
		} else if ctx.Err() == nil {
			l.fail("broadcast_tx_sync", err, res.Code, res.Log)
		}
		l.mu.Unlock()
		l.pause(ctx, l.syncEvery)
	}
}

func (l *load) recordCommit(ctx context.Context, tx sentTx, res *broadcastCommitJSON, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		if ctx.Err() == nil {
			l.fail("broadcast_tx_commit", err, max(res.CheckTx.Code, res.TxResult.Code), res.CheckTx.Log+res.TxResult.Log)
		}
		return
	}
	h, perr := strconv.ParseInt(res.Height, 10, 64)
	if perr != nil || h <= 0 {
		l.fail("broadcast_tx_commit", fmt.Errorf("height %q", res.Height), 0, "")
		return
	}
	tx.height = h
	l.committed = append(l.committed, tx)
}

// pause waits d (the load's pacing, not a wait for an event) or until ctx ends.
func (l *load) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// snapshot returns copies of the recorded transactions.
func (l *load) snapshot() (committed, accepted []sentTx, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sentTx(nil), l.committed...), append([]sentTx(nil), l.accepted...), l.failed
}

// failureReasons lists why calls failed, most frequent first.
func (l *load) failureReasons() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Collect(maps.Keys(l.reasons))
	slices.SortFunc(keys, func(a, b string) int { return l.reasons[b] - l.reasons[a] })
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d× %s", l.reasons[k], k)
	}
	return out
}

// addrPattern matches the loopback addresses in error messages.
var addrPattern = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// fail counts a failed call by its reason (l.mu held). The reasons are
// reported: a healthy node should refuse nothing.
func (l *load) fail(method string, err error, code uint32, log string) {
	l.failed++
	reason := fmt.Sprintf("%s: code %d %s", method, code, log)
	if err != nil {
		// One reason for every node and port.
		reason = method + ": " + addrPattern.ReplaceAllString(err.Error(), "NODE")
	}
	l.reasons[reason]++
}
