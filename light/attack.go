package light

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/types"
)

// Building light client attack evidence from a conflict, as CometBFT
// v0.40.0's light client does: each side is taken in turn as the truth,
// the other's trace is replayed against it to find where they part, and
// the evidence against the other side goes to the one taken as the truth.

// EvidenceReporter is a Provider that takes evidence of an attack (a full
// node, through broadcast_evidence). The client reports what it detects
// to the providers that implement it.
type EvidenceReporter interface {
	ReportEvidence(ctx context.Context, ev types.Evidence) error
}

// errNoDivergence: the source's blocks agree with the whole trace.
var errNoDivergence = errors.New("light: the source agrees with every block of the trace")

// attackEvidence builds the evidence of the conflict between the primary's
// trace and witness w, and reports it: against the primary to w, then
// against w to the primary.
func (c *Client) attackEvidence(ctx context.Context, conflict *ConflictError, trace []*LightBlock, w Provider) {
	witnessTrace, primaryBlock, err := c.divergence(ctx, trace, conflict.WitnessBlock, w)
	if err != nil {
		c.logger.Warn("the witness cannot prove where it parts from the primary: no evidence against the primary", "witness", w.ID(), "err", err)
		return
	}
	conflict.AgainstPrimary = evidenceOf(primaryBlock, witnessTrace)
	c.report(ctx, w, conflict.AgainstPrimary)
	primaryTrace, witnessBlock, err := c.divergence(ctx, witnessTrace, primaryBlock, c.primary)
	if err != nil {
		c.logger.Warn("the primary cannot prove where it parts from the witness: no evidence against the witness", "primary", c.primary.ID(), "err", err)
		return
	}
	conflict.AgainstWitness = evidenceOf(witnessBlock, primaryTrace)
	c.report(ctx, c.primary, conflict.AgainstWitness)
}

// evidenceOf is the evidence that conflicting attacks the chain of
// sourceTrace, which runs from the last block both agree on to the
// source's block at conflicting's height.
func evidenceOf(conflicting *LightBlock, sourceTrace []*LightBlock) *types.LightClientAttackEvidence {
	return types.NewLightClientAttackEvidence(conflicting.toTypes(), sourceTrace[len(sourceTrace)-1].toTypes(), sourceTrace[0].toTypes())
}

// divergence replays trace (verified blocks from one side, from a block
// both sides trust) against source, whose block at the trace's last
// height is target: at each height of the trace it verifies source's
// block from the last one they agreed on. It returns, at the first height
// where they differ, source's verified trace from the block they last
// agreed on to its block there, and the trace's block there.
func (c *Client) divergence(ctx context.Context, trace []*LightBlock, target *LightBlock, source Provider) ([]*LightBlock, *LightBlock, error) {
	if target.Height() != trace[len(trace)-1].Height() {
		return nil, nil, fmt.Errorf("light: target at height %d, the trace ends at %d", target.Height(), trace[len(trace)-1].Height())
	}
	var agreed *LightBlock
	for i, tb := range trace {
		sb := target
		if tb.Height() != target.Height() {
			var err error
			if sb, err = fetch(ctx, source, tb.Height()); err != nil {
				return nil, nil, err
			}
		}
		if i == 0 {
			if sb.Hash() != tb.Hash() {
				return nil, nil, fmt.Errorf("light: %s has header %X at the trusted height %d, not %X", source.ID(), sb.Hash(), tb.Height(), tb.Hash())
			}
			agreed = sb
			continue
		}
		sourceTrace, err := c.verifyForward(ctx, source, agreed, sb)
		if err != nil {
			return nil, nil, fmt.Errorf("light: %s's block at height %d does not verify from height %d: %w", source.ID(), sb.Height(), agreed.Height(), err)
		}
		if sb.Hash() != tb.Hash() {
			return sourceTrace, tb, nil
		}
		agreed = sb
	}
	return nil, nil, errNoDivergence
}

// reportRetries bound the retries of a refused report: a node refuses
// evidence about its latest block until the next block carries that
// block's commit, which is what a light client following the chain's tip
// meets first.
const (
	reportRetries = 5
	reportBackoff = 500 * time.Millisecond
)

// report sends ev to p if it takes evidence, retrying a few times (with
// a doubling delay) while p refuses it; a failure is only logged: the
// client halts on the conflict either way.
func (c *Client) report(ctx context.Context, p Provider, ev *types.LightClientAttackEvidence) {
	r, ok := p.(EvidenceReporter)
	if !ok {
		return
	}
	delay := reportBackoff
	for i := 0; ; i++ {
		err := r.ReportEvidence(ctx, ev)
		if err == nil {
			c.logger.Error("attack detected: evidence reported", "provider", p.ID(), "evidence", ev.String())
			return
		}
		if i == reportRetries {
			c.logger.Error("could not report light client attack evidence", "provider", p.ID(), "evidence", ev.String(), "err", err)
			return
		}
		c.logger.Warn("evidence refused, retrying", "provider", p.ID(), "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay *= 2
	}
}
